"""``buzon reconcile`` and ``buzon serve``: callbacks into states."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.option(
    "--events",
    "archivos",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Event file (JSON Lines or CSV) exported by a gateway or another receiver; repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def reconcile(archivos: tuple[Path, ...], as_json: bool) -> None:
    """Import event files, apply every new event in time order, expire media past 72 hours.

    Idempotent: events already imported (same content) are skipped, so a second run changes
    nothing. A file with a malformed line is rejected whole, naming the line.

    \b
    Example:
      buzon reconcile --events gateway/entregas.csv --events eventos.jsonl --json
    """
    from buzon.settings import Settings
    from reconcile.apply import reconciliar

    settings = Settings()
    res = reconciliar(settings, list(archivos))
    if as_json:
        click.echo(json.dumps(res.as_json(), ensure_ascii=False))
        return
    click.echo(
        f"eventos: {res.events} (nuevos aplicados: {res.applied}, repetidos: {res.duplicados}); "
        f"validados: {res.validated}; vencidos: {res.expired}; no entregados: {res.no_entregado}"
    )
    for reason, n in sorted(res.rejected.items()):
        click.echo(f"  rechazados {reason}: {n}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="TCP port.")
def serve(host: str, port: int) -> None:
    """Run the receiver: validation links, the code form and delivery webhooks.

    \b
    Example:
      buzon serve --host 127.0.0.1 --port 8080
    """
    import uvicorn

    from buzon.settings import Settings
    from callbacks.app import create_app

    settings = Settings()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)


__commands__ = ["reconcile", "serve"]
