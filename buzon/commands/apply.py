"""``buzon apply``: validate uploads against the registry and register what they add."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from buzon.commands.plan import columna_option

__commands__ = ["apply"]


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--sync",
    is_flag=True,
    help="The upload is the desired state of the RFCs it mentions: their active media absent "
    "from it go to baja (with an acuse de baja).",
)
@click.option("--json", "as_json", is_flag=True, help="Print plan summary and counts as JSON.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Also write rechazos.csv, advertencias.csv, aceptados.parquet and resumen.json here.",
)
@columna_option
def apply(
    files: tuple[Path, ...],
    sync: bool,
    as_json: bool,
    out: Path | None,
    columnas: tuple[str, ...],
) -> None:
    """Register the media of uploads: folios, sealed acuses and verification messages queued.

    Runs the same validation as `plan`, counting what the registry already holds. Applying the
    same files again changes nothing.

    \b
    Examples:
      buzon apply sample_data/carga_corporativo.xlsx --json
      buzon apply carga.csv --columna "Reg. IMSS=registro_patronal" --out salida/
    """
    from buzon.commands.plan import print_summary, progress_printer
    from buzon.settings import Settings
    from registry.apply import ApplyResult, apply_entries
    from registry.db import get_engine
    from registry.reader import registro_reader, rps_loader
    from schemas.columnas import parse_columnas
    from schemas.plan import plan_files
    from signers.seal import Sello

    mapping = parse_columnas(columnas)
    settings = Settings()
    engine = get_engine(settings)
    sello = Sello.load(settings)
    verbose = sys.stderr.isatty()
    result = plan_files(
        files,
        settings,
        read_registro=registro_reader(engine),
        progress=progress_printer(verbose),
        sync=sync,
        columnas=mapping,
        rps_loader=rps_loader(engine),  # «TODOS»: the RFC's registered RPs too
    )

    def show(total: ApplyResult) -> None:
        click.echo(f"… aplicados {total.chunks} bloques", err=True)

    applied = apply_entries(
        engine,
        settings,
        result.accepted,
        sync=sync,
        now=settings.clock(),
        sello=sello,
        progress=show if verbose else None,
    )
    if out is not None:
        from reports.plan_outputs import write_plan_outputs

        write_plan_outputs(result, out)  # the same files as plan, after the registry's say
    if as_json:
        click.echo(json.dumps(result.summary | applied.as_dict(), ensure_ascii=False))
        return
    print_summary(result.summary)
    a = applied.acuses
    click.echo(
        f"Registrados: {applied.registered:,}  Actualizados: {applied.updated:,}  "
        f"Sin cambio: {applied.unchanged:,}  Bajas: {applied.bajas:,}\n"
        f"Acuses: registro {a['registro']:,}, actualización {a['actualizacion']:,}, "
        f"baja {a['baja']:,}"
    )
