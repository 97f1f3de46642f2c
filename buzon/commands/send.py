"""``buzon send`` and ``buzon resend``: deliver verification and confirmation messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from buzon.settings import Settings


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
@click.option(
    "--rfc", default=None, help="RFC that owns the medium (alone: all its pending media)."
)
@click.option("--medio", default=None, help="The email address or 10-digit mobile number.")
@click.option(
    "--pendientes",
    is_flag=True,
    help="Every medium still pending (registrado or enviado), of every RFC or of --rfc.",
)
@click.option(
    "--antes-de",
    "antes_de",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    default=None,
    help="With --pendientes: only media whose deadline falls before this ISO 8601 instant.",
)
@click.option("--no-send", is_flag=True, help="Only queue it; the next `buzon send` sends it.")
@click.option("--json", "as_json", is_flag=True, help="Bulk: print the counts as one JSON object.")
def resend(
    rfc: str | None,
    medio: str | None,
    pendientes: bool,
    antes_de: datetime | None,
    no_send: bool,
    as_json: bool,
) -> None:
    """Send a new verification code or link; the previous one stops working at once.

    One medium (--rfc and --medio), every pending medium of one RFC (--rfc alone), or every
    pending medium (--pendientes, optionally only those due before --antes-de). A medium gets at
    most BUZON_MAX_SENDS_PER_MEDIUM sends (5); each resend opens a new 72-hour window. Media at
    the limit are skipped and counted (LIMITE_ENVIOS).

    \b
    Examples:
      buzon resend --rfc EKU9003173C9 --medio 5512345678
      buzon resend --rfc EKU9003173C9 --json
      buzon resend --pendientes --antes-de 2026-12-05T12:00:00-06:00 --json
      {"resent": 12, "skipped": {"LIMITE_ENVIOS": 1}}
    """
    from buzon.settings import Settings

    if medio is not None and (rfc is None or pendientes):
        raise click.UsageError("--medio va con --rfc y sin --pendientes")
    if rfc is None and not pendientes:
        raise click.UsageError("indica --rfc RFC [--medio VALOR] o --pendientes")
    if antes_de is not None and not pendientes:
        raise click.UsageError("--antes-de solo va con --pendientes")
    settings = Settings()
    if medio is None:
        _resend_bulk(settings, rfc, antes_de, not no_send, as_json)
        return
    from delivery.resend import resend as do_resend

    outbox_id, stats = do_resend(settings, rfc, medio, send=not no_send)
    if as_json:
        click.echo(json.dumps({"outbox": outbox_id, "sent": bool(stats and stats.sent)}))
    elif stats is None:
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


def _resend_bulk(
    settings: Settings, rfc: str | None, antes_de: datetime | None, send: bool, as_json: bool
) -> None:
    from delivery.resend_bulk import resend_many

    if antes_de is not None and antes_de.tzinfo is None:
        antes_de = antes_de.replace(tzinfo=UTC)
    res = resend_many(settings, rfc=rfc, antes_de=antes_de, send=send)
    if as_json:
        click.echo(json.dumps(res.as_json()))
        return
    omitidos = ", ".join(f"{k}: {v}" for k, v in res.as_json()["skipped"].items()) or "ninguno"
    click.echo(f"reenviados: {res.resent}  omitidos: {omitidos}")


__commands__ = ["send", "resend"]
