"""``buzon send`` and ``buzon resend``: deliver verification and confirmation messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from buzon.settings import Settings


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
@click.option(
    "--rfc", default=None, help="RFC dueño del medio (solo: todos sus medios pendientes)."
)
@click.option("--medio", default=None, help="Correo o celular de 10 dígitos.")
@click.option(
    "--pendientes",
    is_flag=True,
    help="Todos los medios pendientes (registrado o enviado), de todos los RFC o de --rfc.",
)
@click.option(
    "--antes-de",
    "antes_de",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    default=None,
    help="Con --pendientes: solo los medios cuyo plazo vence antes de este instante ISO 8601.",
)
@click.option(
    "--no-send", is_flag=True, help="Solo lo pone en cola; lo envía el siguiente `buzon send`."
)
@click.option("--json", "as_json", is_flag=True, help="Imprime los conteos como un objeto JSON.")
def resend(
    rfc: str | None,
    medio: str | None,
    pendientes: bool,
    antes_de: datetime | None,
    no_send: bool,
    as_json: bool,
) -> None:
    """Envía un nuevo código o enlace de verificación; el anterior deja de servir de inmediato.

    Un medio (--rfc y --medio), todos los medios pendientes de un RFC (--rfc solo) o todos los
    pendientes (--pendientes, opcionalmente solo los que vencen antes de --antes-de). Un medio
    recibe a lo más BUZON_MAX_SENDS_PER_MEDIUM envíos (5); cada reenvío abre otra ventana de 72
    horas. Los medios en el límite se omiten y se cuentan (LIMITE_ENVIOS).

    \b
    Ejemplos:
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
