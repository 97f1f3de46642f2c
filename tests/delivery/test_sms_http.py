"""SMS through a real local HTTP gateway: body, headers, 2xx / 429 / 5xx / 4xx handling."""

from __future__ import annotations

import re
from datetime import timedelta

from delivery_helpers import NOW, add_media, sms_settings
from sqlalchemy import select

from delivery import secrets as sec
from delivery.dispatcher import dispatch
from delivery.render import gsm7_length
from registry.db import get_engine
from registry.tables import medios, outbox


def _one(settings, table, mid):  # noqa: ANN001, ANN202
    col = table.c.id if table is medios else table.c.medio_id
    with get_engine(settings).connect() as conn:
        return conn.execute(select(table).where(col == mid).order_by(table.c.id)).all()[-1]


def test_sends_codes_with_bearer_and_idempotency_key(db_settings, gateway):
    settings = sms_settings(db_settings, gateway, sms_concurrency=4)
    media = add_media(settings, [("telefono", f"55123456{i:02d}") for i in range(8)])
    stats = dispatch(settings)
    assert stats.as_json() == {"sent": 8, "retried": 0, "failed": 0, "pending": 0}
    assert len(gateway.requests) == 8
    key = sec.load_key(settings)
    by_to = {r.body["to"]: r for r in gateway.requests}
    codes = set()
    for m in media:
        req = by_to[f"+52{m.valor}"]
        box = _one(settings, outbox, m.id)
        assert req.headers["Authorization"] == "Bearer token-de-prueba-123"
        assert req.headers["Idempotency-Key"] == str(box.id)
        assert req.body["reference"] == box.id
        text = req.body["message"]
        assert (gsm7_length(text) or 999) <= 160
        assert m.rfc in text and "antes del 06/03/2025 09:00" in text and "/celular" in text
        (code,) = re.findall(r"\b(\d{5})\b", text)
        codes.add(code)
        row = _one(settings, medios, m.id)
        assert sec.verify_code(key, m.id, code, row.secreto_hash)
        assert not sec.verify_code(key, m.id + 1000, code, row.secreto_hash)  # bound to medium
        assert row.estado == "enviado" and row.envios == 1
    assert len(codes) > 1


def test_429_and_500_are_retried_with_the_same_code(db_settings, gateway):
    settings = sms_settings(db_settings, gateway)
    a, b = add_media(settings, [("telefono", "5511111111"), ("telefono", "5522222222")])
    gateway.script = {"+525511111111": [429], "+525522222222": [500, 503]}
    stats = dispatch(settings)
    assert stats.as_json() == {"sent": 0, "retried": 2, "failed": 0, "pending": 2}
    box = _one(settings, outbox, a.id)
    # Retry-After: 120 beats the 15-30 s backoff of the first attempt.
    assert box.proximo_intento - NOW.replace(tzinfo=box.proximo_intento.tzinfo) >= timedelta(
        seconds=120
    )
    assert "429" in box.error
    now = NOW
    for _ in range(2):
        now += timedelta(hours=1)
        dispatch(settings.model_copy(update={"now": now}))
    assert _one(settings, outbox, a.id).estado == "enviado"
    assert _one(settings, outbox, b.id).estado == "enviado"
    for m in (a, b):
        sent = [r for r in gateway.requests if r.body["to"] == f"+52{m.valor}"]
        # Same code on every attempt (the deadline counts from the attempt that goes out).
        assert len({re.search(r"\b\d{5}\b", r.body["message"])[0] for r in sent}) == 1
        assert len({r.headers["Idempotency-Key"] for r in sent}) == 1
    assert len([r for r in gateway.requests if r.body["to"] == "+525522222222"]) == 3


def test_4xx_is_permanent_with_the_gateway_reason(db_settings, gateway):
    settings = sms_settings(db_settings, gateway)
    (m,) = add_media(settings, [("telefono", "5533333333")])
    gateway.script = {"+525533333333": [400]}
    assert dispatch(settings).as_json() == {"sent": 0, "retried": 0, "failed": 1, "pending": 0}
    row = _one(settings, medios, m.id)
    assert row.estado == "no_entregado" and row.aclaracion
    assert "número no válido" in row.motivo and "400" in row.motivo
    assert _one(settings, outbox, m.id).estado == "fallido"


def test_unreachable_gateway_is_temporary(db_settings, gateway):
    settings = sms_settings(db_settings, gateway, sms_timeout=2.0)
    gateway.close()
    add_media(settings, [("telefono", "5544444444")])
    assert dispatch(settings).as_json() == {"sent": 0, "retried": 1, "failed": 0, "pending": 1}


def test_keeps_connections_alive_and_reopens_one_the_gateway_closed(db_settings, gateway):
    settings = sms_settings(db_settings, gateway, sms_concurrency=2)
    add_media(settings, [("telefono", f"55200000{i:02d}") for i in range(6)])
    assert dispatch(settings).as_json()["sent"] == 6
    assert gateway.connections <= 2  # one kept-alive connection per worker

    gateway.silent_close = True
    add_media(settings, [("telefono", f"55300000{i:02d}") for i in range(6)])
    assert dispatch(settings).as_json() == {"sent": 6, "retried": 0, "failed": 0, "pending": 0}
    # Each request that met a closed connection went again on a new one, and only once.
    tos = [r.body["to"] for r in gateway.requests]
    assert len(tos) == len(set(tos)) == 12
