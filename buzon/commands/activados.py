"""``buzon activados importar``: RFCs whose Buzón IMSS was activated before 06/08/2024."""

from __future__ import annotations

import json
from pathlib import Path

import click

__commands__ = ["activados"]


@click.group()
def activados() -> None:
    """RFCs activated before 06/08/2024: they already comply and are never asked to sign again.

    \b
    Ejemplo:
      buzon activados importar activados_previos.xlsx --json
    """


@activados.command("importar")
@click.argument("archivo", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
def importar(archivo: Path, as_json: bool) -> None:
    """Record the RFCs of ARCHIVO (xlsx, csv, ...; columns rfc, optional fecha and folio) as
    activated before 06/08/2024 (estado activado_previo, with file and row as origin).

    `buzon activate` skips them and `buzon status` counts them as activated. Rows are rejected
    with a code (RFC_INVALIDO, FECHA_INVALIDA, FECHA_POSTERIOR, DUPLICADO); importing the same
    file again changes nothing.

    \b
    Ejemplo:
      buzon activados importar activados_previos.csv --json
      {"imported": 120, "already": 0, "rejected": {"FECHA_POSTERIOR": 2}}
    """
    from buzon.settings import Settings
    from registry.activados import importar as do_import

    res = do_import(Settings(), archivo)
    if as_json:
        click.echo(json.dumps(res.as_json(), ensure_ascii=False))
    else:
        click.echo(f"importados: {res.imported}  ya registrados: {res.already}")
    for d in res.detalle[:20]:
        where = ":".join(str(x) for x in (d["archivo"], d["hoja"], d["fila"]) if x is not None)
        click.echo(f"rechazado {where}: {d['codigo']}: {d['mensaje']}", err=True)
    if len(res.detalle) > 20:
        click.echo(f"… y {len(res.detalle) - 20} rechazos más", err=True)
