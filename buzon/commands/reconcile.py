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
    help="Archivo de eventos (JSON Lines o CSV) de una pasarela u otro receptor; repetible.",
)
@click.option("--json", "as_json", is_flag=True, help="Imprime el resumen como JSON.")
def reconcile(archivos: tuple[Path, ...], as_json: bool) -> None:
    """Importa archivos de eventos, aplica cada evento nuevo en orden de tiempo y vence los
    medios con más de 72 horas.

    Idempotente: los eventos ya importados (mismo contenido) se omiten; repetirlo no cambia nada.
    Un archivo con una línea mal formada se rechaza completo, nombrando la línea.

    \b
    Ejemplo:
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
@click.option("--host", default="127.0.0.1", show_default=True, help="Dirección donde escuchar.")
@click.option(
    "--port", default=8080, show_default=True, type=int, help="Puerto TCP (0: uno libre)."
)
def serve(host: str, port: int) -> None:
    """Ejecuta el receptor: enlaces de validación, formulario de código y webhooks de entrega.

    \b
    Ejemplo:
      buzon serve --host 127.0.0.1 --port 8080
    """
    import uvicorn

    from buzon.net import listen
    from buzon.settings import Settings
    from callbacks.app import create_app

    settings = Settings()
    # The socket first: a port out of range, taken or forbidden is one Spanish line (exit 2).
    sock = listen(host, port)
    app = create_app(settings)
    bound = sock.getsockname()[1]
    click.echo(f"Receptor escuchando en http://{host}:{bound} (Ctrl+C para terminar)", err=True)
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; the app
    # decides whom to believe (BUZON_TRUSTED_PROXIES) for its limits.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", access_log=False, proxy_headers=False
    )
    uvicorn.Server(config).run(sockets=[sock])


__commands__ = ["reconcile", "serve"]
