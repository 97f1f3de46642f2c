"""``buzon plan``: validate uploads and account for every entry, changing nothing."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

__commands__ = ["plan"]


def print_summary(summary: dict, *, title: str = "Resultado de la validación") -> None:
    """A readable table of a plan summary on stdout (rich)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=title, show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    table.add_row("Archivos", ", ".join(summary["files"]))
    for item in summary["sheets_skipped"]:
        table.add_row("Hoja omitida (sin encabezado RFC)", f"{item['archivo']}: {item['hoja']}")
    for item in summary.get("columns_ignored", []):
        where = ":".join(str(x) for x in (item["archivo"], item["hoja"]) if x)
        table.add_row("[yellow]Columna ignorada[/yellow]", f"{where}: {item['columna']}")
    table.add_row("Entradas", f"{summary['entries']:,}")
    table.add_row("Aceptadas", f"[green]{summary['accepted']:,}[/green]")
    table.add_row("Rechazadas", f"[red]{summary['rejected']:,}[/red]")
    for code, n in summary["rejections"].items():
        table.add_row(f"  rechazo {code}", f"{n:,}")
    for code, n in summary["warnings"].items():
        table.add_row(f"  advertencia {code}", f"{n:,}")
    table.add_row("Correos distintos", f"{summary['media']['correo']:,}")
    table.add_row("Celulares distintos", f"{summary['media']['telefono']:,}")
    table.add_row("Alcances", f"{summary['scopes']:,}")
    table.add_row("RFC", f"{summary['rfcs']:,}")
    table.add_row("Registros patronales", f"{summary['rps']:,}")
    console.print(table)


@contextmanager
def stage_progress(enabled: bool, total: int) -> Iterator[Callable[[str], None] | None]:
    """A progress bar on stderr over ``total`` stages (one per file read, then validation).

    Shown only on a terminal, so logs and ``--json`` output stay clean.
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("preparando", total=total)
        started = False

        def show(stage: str) -> None:
            nonlocal started
            if started:
                bar.advance(task)
            started = True
            bar.update(task, description=stage)

        yield show


def progress_printer(enabled: bool):  # noqa: ANN201
    """A progress callback writing stage lines to stderr (for -v runs without a terminal)."""
    if not enabled:
        return None

    def show(stage: str) -> None:
        click.echo(f"… {stage}", err=True)

    return show


def end_process_if_cli() -> None:
    """End the process at once when it runs the ``buzon`` program itself (console script or
    ``python -m buzon``), skipping the interpreter's teardown.

    The command is done: its outputs are written (atomically) and the process would now exit with
    status 0 anyway. Freeing a million-entry plan and the validation libraries' tables first costs
    ~0.3 s. Logs and the standard streams are flushed here. A caller in the same process
    (CliRunner, a program that embeds the CLI) is left alone: its ``__main__`` is not ours, or
    its stdout is not the process's.
    """
    # Looked up, not imported: the CLI imports the commands, never the other way round.
    cli = sys.modules.get("buzon.cli")
    main = sys.modules.get("__main__")
    if cli is None or getattr(main, "main", None) is not getattr(cli, "main", None):
        return
    if sys.stdout is not sys.__stdout__:
        return
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def registro_if_any(settings):  # noqa: ANN001, ANN201 - Settings -> (readers) | (None, None)
    """Read-only readers of the configured registry (limits, «TODOS»), or Nones when there is none.

    Without a store (no SQLite file; a PostgreSQL URL is always a store) nothing of the store is
    imported: plan keeps its start-up time.
    """
    path = settings.sqlite_path
    if path is not None and not path.is_file():
        return None, None
    from registry.reader import registro_reader, rps_loader
    from registry.reader.readonly import open_readonly

    engine = open_readonly(settings)
    if engine is None:
        return None, None
    return registro_reader(engine), rps_loader(engine)


# ``--columna "ENCABEZADO=campo"`` (schemas.columnas.parse_columnas), shared with ``apply``.
columna_option = click.option(
    "--columna",
    "columnas",
    multiple=True,
    metavar='"ENCABEZADO=campo"',
    help="Map a header by hand (repeatable). Campos: rfc, nombre, registro_patronal, correo, "
    "celular, mecanismo, medio, ignorar.",
)


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="ARCHIVO..."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Carpeta donde escribir rechazos.csv, advertencias.csv, aceptados.parquet y resumen.json.",
)
@click.option("--json", "as_json", is_flag=True, help="Imprime el resumen como un objeto JSON.")
@click.option(
    "--sin-registro",
    is_flag=True,
    help="No leer el registro aunque exista: valida solo contra los archivos.",
)
@click.option(
    "--sync",
    is_flag=True,
    help="Validar como `apply --sync`: los medios registrados que la carga no lista cuentan "
    "como dados de baja.",
)
@columna_option
def plan(
    files: tuple[Path, ...],
    out: Path | None,
    as_json: bool,
    sin_registro: bool,
    sync: bool,
    columnas: tuple[str, ...],
) -> None:
    """Valida cargas (xlsx, xlsm, xls, ods, csv, txt) sin cambiar nada.

    Cada entrada termina aceptada o rechazada con un código y un mensaje. Si existe un registro
    (BUZON_HOME / BUZON_DATABASE_URL) se lee, nunca se escribe, así que el plan rechaza lo que
    `apply` rechazaría (TELEFONO_EXCEDIDO, CORREOS_EXCEDIDOS, RP_OTRO_RFC contando los medios ya
    registrados); `--sin-registro` no lo lee.

    Una columna cuyo encabezado no se reconoce se informa (advertencia COLUMNA_IGNORADA); si sus
    valores parecen Registros Patronales, correos o celulares, la carga se detiene hasta que se
    asigne con --columna.

    \b
    Ejemplos:
      buzon plan sample_data/carga_corporativo.xlsx --out salida/
      buzon plan carga.csv --columna "Reg. IMSS=registro_patronal" --columna "Notas=ignorar"
    """
    from loaders.early import read_early

    # The workbooks are parsed in the background while the imports below run (GIL-free parse).
    read_early(files)
    from buzon.settings import Settings
    from schemas.columnas import parse_columnas
    from schemas.plan import plan_files

    settings = Settings()
    read_registro, read_rps = (None, None) if sin_registro else registro_if_any(settings)
    mapping = parse_columnas(columnas)
    with stage_progress(sys.stderr.isatty(), len(files) + 1) as progress:
        result = plan_files(
            files,
            settings,
            read_registro=read_registro,
            rps_loader=read_rps,
            progress=progress,
            sync=sync,
            columnas=mapping,
        )
    if out is not None:
        from reports.plan_outputs import write_plan_outputs

        write_plan_outputs(result, out)
    if as_json:
        click.echo(json.dumps(result.summary, ensure_ascii=False))
    else:
        print_summary(result.summary)
        if out is not None:
            click.echo(f"Archivos de resultado en {out}/", err=True)
    end_process_if_cli()
