"""``buzon report``: per-RP status (xlsx, CSV, HTML) and the signed acuse bundles."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

__commands__ = ["report"]


@click.command()
@click.option("--rfc", "rfcs", multiple=True, help="Solo este RFC (se puede repetir).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Carpeta de salida.")
@click.option(
    "--sin-paquetes", is_flag=True, help="No escribir los paquetes de acuses (DIR/acuses/*.zip)."
)
@click.option("--json", "as_json", is_flag=True, help="Imprimir el resumen como un objeto JSON.")
def report(rfcs: tuple[str, ...], out: Path, sin_paquetes: bool, as_json: bool) -> None:
    """Escribe el reporte de estado por RP y los paquetes de acuses firmados.

    Lee el registro sin modificarlo y escribe en DIR: estado.xlsx (hojas Por RP, Por RFC,
    Medios, Aclaraciones y Rechazos), estado_por_rp.csv, medios.csv, estado.html (una sola
    página que funciona sin conexión) y acuses/<RFC>.zip (un paquete BagIt firmado por RFC,
    comprobable con `buzon verify`).

    \b
    Ejemplo:
      buzon report --out salida/reporte
      buzon report --rfc EKU9003173C9 --out salida/reporte --json
    """
    from buzon.settings import Settings
    from reports.report import build
    from schemas.rfc import compact

    settings = Settings()
    verbose = sys.stderr.isatty() and not as_json

    def progress(msg: str) -> None:
        click.echo(f"… {msg}", err=True)

    wanted = sorted({compact(r) for r in rfcs}) or None
    data = build(
        settings,
        out,
        rfcs=wanted,
        bundles=not sin_paquetes,
        progress=progress if verbose else None,
    )
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(
        f"RFC: {data['rfcs']:,}  Registros patronales: {data['rps']:,}  Medios: {data['medios']:,}"
        f"  Activados: {data['activados']:,}  Aclaraciones: {data['aclaraciones']:,}"
    )
    click.echo(
        f"Reporte: {out / 'estado.html'} (también estado.xlsx, estado_por_rp.csv, medios.csv)"
    )
    if not sin_paquetes:
        click.echo(
            f"Paquetes de acuses: {out / 'acuses'} "
            f"(compruébelos con: buzon verify {out / 'acuses'}/*.zip)"
        )
