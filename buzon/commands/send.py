"""``buzon send`` and ``buzon resend``: deliver verification and confirmation messages."""

from __future__ import annotations

import json

import click


@click.command("send")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Envía a lo más N mensajes."
)
@click.option("--json", "as_json", is_flag=True, help="Imprime los conteos como un objeto JSON.")
def send(limit: int | None, as_json: bool) -> None:
    """Envía los mensajes pendientes (enlaces y códigos de verificación, confirmaciones).

    Los transportes vienen de BUZON_EMAIL_TRANSPORT / BUZON_SMS_TRANSPORT (por omisión: archivos
    en $BUZON_HOME/spool, solo legibles por su dueño). Las fallas temporales se reintentan en una
    ejecución posterior, con espera creciente.

    \b
    Ejemplo:
      buzon send --json
      {"sent": 12, "retried": 0, "failed": 0, "pending": 0}
    """
    from buzon.settings import Settings
    from delivery.dispatcher import SendStats, dispatch

    settings = Settings()

    def progress(stats: SendStats) -> None:
        click.echo(
            f"envío: {stats.processed} procesados (enviados {stats.sent}, "
            f"reintentos {stats.retried}, fallidos {stats.failed})",
            err=True,
        )

    stats = dispatch(settings, limit=limit, progress=progress)
    if as_json:
        click.echo(json.dumps(stats.as_json()))
    else:
        click.echo(
            f"enviados: {stats.sent}  reintentos programados: {stats.retried}  "
            f"fallidos: {stats.failed}  pendientes: {stats.pending}"
        )


@click.command("resend")
@click.option("--rfc", required=True, help="RFC dueño del medio.")
@click.option("--medio", required=True, help="Correo o celular de 10 dígitos.")
@click.option(
    "--no-send", is_flag=True, help="Solo lo pone en cola; lo envía el siguiente `buzon send`."
)
def resend(rfc: str, medio: str, no_send: bool) -> None:
    """Envía un nuevo código o enlace de verificación a un medio; el anterior deja de servir.

    Un medio recibe a lo más BUZON_MAX_SENDS_PER_MEDIUM envíos (5); cada uno abre otra ventana de
    72 horas.

    \b
    Ejemplo:
      buzon resend --rfc EKU9003173C9 --medio 5512345678
    """
    from buzon.settings import Settings
    from delivery.resend import resend as do_resend

    settings = Settings()
    outbox_id, stats = do_resend(settings, rfc, medio, send=not no_send)
    if stats is None:
        click.echo(f"reenvío en cola (outbox {outbox_id}); se enviará con `buzon send`")
    elif stats.sent:
        click.echo(f"reenvío enviado (outbox {outbox_id}); el código anterior ya no es válido")
    elif stats.failed:
        click.echo(f"el reenvío falló de forma permanente (outbox {outbox_id})")
    else:
        click.echo(
            f"reenvío pendiente de reintento (outbox {outbox_id}); "
            "el código anterior ya no es válido"
        )


__commands__ = ["send", "resend"]
