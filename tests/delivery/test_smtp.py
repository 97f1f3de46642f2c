"""Email through a real aiosmtpd server: content, headers, retries, permanent failures, drops."""

from __future__ import annotations

import re
from datetime import timedelta

from delivery_helpers import NOW, add_media, smtp_settings
from sqlalchemy import select

from delivery import secrets as sec
from delivery.dispatcher import dispatch
from registry.db import get_engine
from registry.tables import auditoria, medios, outbox

LINK = re.compile(r"http://127\.0\.0\.1:8080/v/([A-Za-z0-9_-]+)")


def _rows(settings, table, **where):  # noqa: ANN001, ANN003, ANN202
    q = select(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with get_engine(settings).connect() as conn:
        return conn.execute(q.order_by(table.c.id)).all()


def test_sends_verification_emails_with_link_and_headers(db_settings, smtp_server):
    settings = smtp_settings(db_settings, smtp_server, smtp_connections=2)
    media = add_media(settings, [("correo", f"persona{i}@ejemplo.mx") for i in range(5)])
    stats = dispatch(settings)
    assert stats.as_json() == {"sent": 5, "retried": 0, "failed": 0, "pending": 0}

    got = smtp_server.handler.by_id()
    assert len(smtp_server.handler.received) == 5
    key = sec.load_key(settings)
    boxes = {r.medio_id: r for r in _rows(settings, outbox)}
    for m in media:
        mid = f"<outbox-{boxes[m.id].id}@buzon.local>"
        (msg,) = got[mid]
        assert msg.rcpt_tos == [m.valor]
        assert msg.mail_from == "no-responder@buzon.local"
        assert msg.msg["To"] == m.valor
        assert (
            msg.msg["Subject"]
            == "Validación de mecanismos de comunicación como medios de contacto para el Buzón IMSS"
        )
        html, text = msg.part("html"), msg.part("plain")
        assert ">aquí</a>" in html and m.rfc in html and m.folio in html
        assert "72 horas" in text and m.rfc in text
        (token,) = set(LINK.findall(html))
        assert len(token) >= 22 and token in text
        row = _rows(settings, medios, id=m.id)[0]
        # The store holds the digest of exactly this token, bound to this send.
        assert sec.verify_token(key, token, row.secreto_hash)
        assert row.envio_vigente == boxes[m.id].id
        assert row.estado == "enviado" and row.envios == 1
        assert row.enviado_en == NOW.replace(tzinfo=row.enviado_en.tzinfo)
        assert row.vence_en - row.enviado_en == timedelta(hours=72)
    audit = _rows(settings, auditoria, a_estado="enviado")
    assert {a.entidad_id for a in audit} == {str(m.id) for m in media}
    assert all(a.de_estado == "registrado" for a in audit)
    assert smtp_server.handler.connections == 2  # one connection per session, reused


def test_temporary_failure_is_retried_later_with_backoff(db_settings, smtp_server):
    settings = smtp_settings(db_settings, smtp_server)
    (m,) = add_media(settings, [("correo", "ocupado@ejemplo.mx")])
    smtp_server.handler.rcpt_script["ocupado@ejemplo.mx"] = ["451 4.3.0 Intente mas tarde"]
    stats = dispatch(settings)
    assert stats.as_json() == {"sent": 0, "retried": 1, "failed": 0, "pending": 1}
    (row,) = _rows(settings, outbox)
    assert row.estado == "pendiente" and row.intentos == 1 and "451" in row.error
    wait = row.proximo_intento - NOW.replace(tzinfo=row.proximo_intento.tzinfo)
    base = settings.send_backoff_seconds
    assert timedelta(seconds=base / 2) <= wait <= timedelta(seconds=base)
    assert _rows(settings, medios)[0].estado == "registrado"

    # Same clock: nothing is due yet.
    assert dispatch(settings).as_json()["sent"] == 0
    later = settings.model_copy(update={"now": NOW + timedelta(minutes=5)})
    assert dispatch(later).as_json() == {"sent": 1, "retried": 0, "failed": 0, "pending": 0}
    (row,) = _rows(settings, outbox)
    assert row.estado == "enviado" and row.intentos == 2 and row.error is None
    assert _rows(settings, medios)[0].estado == "enviado"
    # Both attempts carried the same message identity.
    ids = [r.message_id for r in smtp_server.handler.received]
    assert ids == [f"<outbox-{row.id}@buzon.local>"]


def test_permanent_failure_marks_no_entregado_with_reason(db_settings, smtp_server):
    settings = smtp_settings(db_settings, smtp_server)
    bad, good = add_media(
        settings, [("correo", "noexiste@ejemplo.mx"), ("correo", "ok@ejemplo.mx")]
    )
    smtp_server.handler.rcpt_script["noexiste@ejemplo.mx"] = ["550 5.1.1 Buzon inexistente"]
    stats = dispatch(settings)
    assert stats.as_json() == {"sent": 1, "retried": 0, "failed": 1, "pending": 0}
    m = _rows(settings, medios, id=bad.id)[0]
    assert m.estado == "no_entregado" and m.aclaracion and "550" in m.motivo
    assert m.secreto_hash is None
    box = _rows(settings, outbox, medio_id=bad.id)[0]
    assert box.estado == "fallido" and "Buzon inexistente" in box.error
    (a,) = _rows(settings, auditoria, entidad_id=str(bad.id))
    assert (a.de_estado, a.a_estado) == ("registrado", "no_entregado")
    assert _rows(settings, medios, id=good.id)[0].estado == "enviado"


def test_gives_up_after_max_attempts(db_settings, smtp_server):
    settings = smtp_settings(db_settings, smtp_server, send_max_attempts=3)
    (m,) = add_media(settings, [("correo", "lleno@ejemplo.mx")])
    smtp_server.handler.rcpt_script["lleno@ejemplo.mx"] = ["452 4.2.2 Buzon lleno"] * 3
    now = NOW
    for expected in ("retried", "retried", "failed"):
        stats = dispatch(settings.model_copy(update={"now": now}))
        assert stats.as_json()[expected] == 1
        now += timedelta(days=1)
    row = _rows(settings, medios)[0]
    assert row.estado == "no_entregado" and "tras 3 intentos" in row.motivo


def test_reconnects_when_the_server_drops_the_connection(db_settings, smtp_server):
    settings = smtp_settings(db_settings, smtp_server)
    smtp_server.handler.drop_every = 3
    add_media(settings, [("correo", f"p{i}@ejemplo.mx") for i in range(10)])
    stats = dispatch(settings)
    assert stats.as_json() == {"sent": 10, "retried": 0, "failed": 0, "pending": 0}
    counts = {k: len(v) for k, v in smtp_server.handler.by_id().items()}
    assert len(counts) == 10 and set(counts.values()) == {1}
    assert smtp_server.handler.connections == 4


def test_confirmation_email_is_sent_for_a_queued_confirmation(db_settings, smtp_server):
    settings = smtp_settings(db_settings, smtp_server)
    (m,) = add_media(settings, [("correo", "feliz@ejemplo.mx")])
    dispatch(settings)
    from registry.outbox import queue

    with get_engine(settings).begin() as conn:
        conn.execute(medios.update().values(estado="validado"))
        queue(
            conn,
            [{"medio_id": m.id, "tipo": "confirmacion", "canal": "correo", "destino": m.valor}],
            now=NOW,
        )
    assert dispatch(settings).as_json()["sent"] == 1
    msg = smtp_server.handler.received[-1]
    assert "exitosa" in str(msg.msg["Subject"])
    assert "concluyó con éxito" in msg.part("plain") and m.folio in msg.part("html")
    assert _rows(settings, medios)[0].estado == "validado"  # confirmations move nothing


def test_session_overlaps_work_with_the_server_and_keeps_leading_dots(settings, smtp_server):
    from delivery.render import Message
    from delivery.transports.smtp import SmtpTransport

    s = smtp_settings(settings, smtp_server)
    calls: list[str] = []
    text = ".línea que empieza con punto\n.\nfin"
    msg = Message(1, "correo", "p@ejemplo.mx", text, subject="Prueba", html="<p>x</p>")
    with SmtpTransport(s).session() as session:
        session.send(
            msg,
            mail_wait=lambda: calls.append(f"mail:{len(smtp_server.handler.received)}"),
            data_wait=lambda: calls.append("data"),
        )
        session.send(msg)  # without hooks, on the same connection
    # The hooks ran before the server's verdict on this message was read, each once.
    assert calls == ["mail:0", "data"]
    first, second = smtp_server.handler.received
    assert first.part("plain").replace("\r\n", "\n").rstrip("\n") == text
    assert second.raw == first.raw and smtp_server.handler.connections == 1


def test_inline_email_and_threaded_sms_in_one_chunk_share_the_recorder(
    db_settings, smtp_server, gateway
):
    from delivery_helpers import sms_settings

    settings = sms_settings(smtp_settings(db_settings, smtp_server), gateway, sms_concurrency=4)
    pairs = [(("correo", f"p{i}@ejemplo.mx"), ("telefono", f"55{i:08d}")) for i in range(12)]
    add_media(settings, [m for pair in pairs for m in pair])  # interleaved ids: one mixed chunk
    stats = dispatch(settings)
    assert stats.as_json() == {"sent": 24, "retried": 0, "failed": 0, "pending": 0}
    assert len(smtp_server.handler.received) == 12 and len(gateway.requests) == 12
    assert {r.estado for r in _rows(settings, medios)} == {"enviado"}
    assert len(_rows(settings, auditoria, a_estado="enviado")) == 24
