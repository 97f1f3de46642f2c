"""``buzon apply``: validate uploads against the registry and register what they add."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from buzon.commands.plan import columna_option

__commands__ = ["apply"]


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="ARCHIVO..."
)
@click.option(
    "--sync",
    is_flag=True,
    help="La carga es el estado deseado de los RFC que menciona: sus medios activos que no "
    "aparecen en ella se dan de baja (con acuse de baja).",
)
@click.option("--json", "as_json", is_flag=True, help="Imprime el resumen y los conteos como JSON.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Escribe también rechazos.csv, advertencias.csv, aceptados.parquet y resumen.json aquí.",
)
@columna_option
def apply(
    files: tuple[Path, ...],
    sync: bool,
    as_json: bool,
    out: Path | None,
    columnas: tuple[str, ...],
) -> None:
    """Registra los medios de las cargas: folios, acuses sellados y mensajes de verificación.

    Valida igual que `plan`, contando lo que el registro ya tiene. Aplicar otra vez los mismos
    archivos no cambia nada. Un archivo inválido no crea nada (ni la base de datos).

    \b
    Ejemplos:
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
    verbose = sys.stderr.isatty()

    def registry_view(rfcs: list[str], rps: list[str]):  # noqa: ANN202 - schemas.limits.Existing
        # The store is opened (and on first use created) only once every file was read: a bad
        # upload leaves a fresh home without a database or a seal key.
        return registro_reader(get_engine(settings))(rfcs, rps)

    result = plan_files(
        files,
        settings,
        read_registro=registry_view,
        progress=progress_printer(verbose),
        sync=sync,
        columnas=mapping,
        # «TODOS»: the RFC's registered RPs too (the store, like above, opened only now).
        rps_loader=lambda rfcs: rps_loader(get_engine(settings))(rfcs),
    )
    engine = get_engine(settings)
    sello = Sello.load(settings)

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
    # The run's rejections, for the report's «Rechazos» sheet (issue 12).
    from registry.rechazos import guardar as guardar_rechazos
    from reports.plan_outputs import rejection_rows

    guardar_rechazos(
        engine,
        rejection_rows(result),
        settings.clock(),
        archivos=[f.name for f in files],
        entradas=result.summary["entries"],
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
    if applied.rp_ajeno:
        # The plan saw the RP free; another RFC registered it before this apply wrote.
        click.echo(
            f"Omitidas: {applied.rp_ajeno:,} entradas cuyo registro patronal ya pertenece a otro "
            "RFC; revise la carga con «buzon plan»"
        )
