"""``buzon send`` and ``buzon resend``: deliver verification and confirmation messages."""

from __future__ import annotations

import json

import click


@click.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Send at most N messages.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
def send(limit: int | None, as_json: bool) -> None:
    """Send the due messages of the outbox (verification links and codes, confirmations).

    Transports come from BUZON_EMAIL_TRANSPORT / BUZON_SMS_TRANSPORT (default: files under
    $BUZON_HOME/spool). Temporary failures are retried on a later run with backoff.

    \b
    Example:
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
@click.option("--rfc", required=True, help="RFC that owns the medium.")
@click.option("--medio", required=True, help="The email address or 10-digit mobile number.")
@click.option("--no-send", is_flag=True, help="Only queue it; the next `buzon send` sends it.")
def resend(rfc: str, medio: str, no_send: bool) -> None:
    """Send a new verification code or link to one medium; the previous one stops working.

    A medium gets at most BUZON_MAX_SENDS_PER_MEDIUM sends (5); each opens a new 72-hour window.

    \b
    Example:
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
