"""``buzon run``: the whole onboarding of an upload as one Prefect flow."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

__commands__ = ["run"]

RESUMEN = {
    "plan": lambda r: f"{r['accepted']:,} aceptadas, {r['rejected']:,} rechazadas",
    "apply": lambda r: (
        f"{r['registered']:,} registrados, {r['updated']:,} actualizados, {r['bajas']:,} bajas"
    ),
    "send": lambda r: (
        f"{r['sent']:,} enviados, {r['failed']:,} fallidos, {r['pending']:,} pendientes"
    ),
    "reconcile": lambda r: (
        f"{r['applied']:,} eventos aplicados, {r['validated']:,} validados, "
        f"{r['expired']:,} vencidos"
    ),
    "activate": lambda r: f"{r['activated']:,} RFC activados",
}


class _StageEcho(logging.Handler):
    """Draws the flow's stage boundaries (``buzon.run`` records) as lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        etapa = getattr(record, "etapa", None)
        if etapa is None:
            return
        if record.fase == "inicio":
            click.echo(f"▶ {etapa} …", err=True)
            return
        resultado = getattr(record, "resultado", None)
        try:
            texto = RESUMEN[etapa](resultado) if resultado is not None else ""
        except (KeyError, TypeError):
            texto = ""
        click.echo(f"✔ {etapa} ({record.segundos:.1f} s) {texto}".rstrip(), err=True)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--sync", is_flag=True, help="La carga es el estado deseado de sus RFC (bajas).")
@click.option(
    "--keystore",
    type=click.Path(path_type=Path, file_okay=False),
    help="Carpeta con las e.firmas (<RFC>.cer, <RFC>.key, passwords.csv) para activar.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Carpeta de salidas (plan/ con rechazos y advertencias).",
)
@click.option(
    "--shards",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Divide el registro por RFC en N fragmentos, cada uno en un trabajador de Prefect "
    "(despliegue buzon-shard; requiere PostgreSQL y PREFECT_API_URL).",
)
@click.option("--json", "as_json", is_flag=True, help="Un objeto JSON con el de cada etapa.")
def run(
    files: tuple[Path, ...],
    sync: bool,
    keystore: Path | None,
    out: Path | None,
    shards: int,
    as_json: bool,
) -> None:
    """Incorpora una carga de punta a punta como un flujo de Prefect.

    Valida, registra, envía, concilia los eventos que ya llegaron (bandeja de eventos) y, con
    --keystore, activa los RFC listos. Volver a ejecutarlo es siempre seguro: lo hecho no se
    repite.

    \b
    Ejemplo:
      buzon run carga.xlsx --out salida/ --json
      buzon run carga.xlsx --keystore efirmas/ --sync
    """
    from buzon.errors import ConfigError, FileMissingError

    for path in files:
        if not path.exists():
            raise FileMissingError("el archivo no existe", archivo=str(path))
    if keystore is not None and not keystore.is_dir():
        raise FileMissingError("la carpeta de e.firmas no existe", archivo=str(keystore))

    import os

    from buzon.settings import Settings
    from flows.server import prefect_env

    # Before Prefect is imported: its state under BUZON_HOME, analytics off, a quiet console.
    settings = Settings()
    if shards > 1 and settings.sqlalchemy_url.startswith("sqlite"):
        raise ConfigError(
            "--shards mayor que 1 necesita un registro compartido en PostgreSQL "
            "(BUZON_DATABASE_URL); SQLite admite un solo escritor"
        )
    if shards > 1 and not os.environ.get("PREFECT_API_URL"):
        raise ConfigError(
            "--shards mayor que 1 necesita un servidor de Prefect con trabajadores "
            "(PREFECT_API_URL y el despliegue buzon-shard)"
        )
    defaults = prefect_env(settings.home / "prefect") | {"PREFECT_LOGGING_LEVEL": "WARNING"}
    for key, value in defaults.items():
        os.environ.setdefault(key, value)

    from flows.onboard import onboard_flow

    logger = logging.getLogger("buzon.run")
    handler = _StageEcho()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the stage lines are drawn once, by this handler
    try:
        res = onboard_flow(
            [str(p) for p in files],
            sync=sync,
            keystore=None if keystore is None else str(keystore),
            out=None if out is None else str(out),
            shards=shards,
        )
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    if as_json:
        click.echo(json.dumps(res, ensure_ascii=False, default=str))
        return
    if out is not None:
        click.echo(f"Salidas en {out}/ (plan/: rechazos.csv, advertencias.csv, resumen.json)")
