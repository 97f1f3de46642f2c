"""The receiver under a real uvicorn server, driven by httpx."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr
from seed import contar as _count
from seed import medio as _medio
from seed import sembrar

from buzon.settings import Settings
from callbacks.signature import sign
from registry.db import get_engine
from registry.tables import acuses, eventos, outbox

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
RFC = "EKU9003173C9"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_link_get_changes_nothing_and_post_validates(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, correo="ana.perez@empresa.mx")
    base = receptor(s)
    with httpx.Client(base_url=base) as http:
        for _ in range(3):  # a mail scanner opening the link
            page = http.get(f"/v/{m.secreto}")
            assert page.status_code == 200
            assert RFC in page.text and "a*******z@empresa.mx" in page.text
            assert "ana.perez" not in page.text and "Confirmar" in page.text
        assert _medio(engine, m.medio_id).estado == "enviado"
        assert _count(engine, eventos) == 0
        bad = http.post(f"/v/{m.secreto}", data={"csrf": "1.2.3"})
        assert bad.status_code == 403 and _medio(engine, m.medio_id).estado == "enviado"
        ok = http.post(f"/v/{m.secreto}", data={"csrf": _csrf(page.text)})
        assert ok.status_code == 200 and "fue exitosa" in ok.text
        again = http.post(f"/v/{m.secreto}", data={"csrf": _csrf(page.text)})
        assert "ya estaba validado" in again.text
        unknown = http.get("/v/" + "A" * 32)
        assert unknown.status_code == 404 and "Enlace desconocido" in unknown.text
    row = _medio(engine, m.medio_id)
    assert row.estado == "validado" and row.validado_en is not None
    assert (
        _count(engine, acuses, acuses.c.tipo == "validacion", acuses.c.medio_id == m.medio_id) == 1
    )
    assert _count(engine, outbox, outbox.c.tipo == "confirmacion") == 1
    assert _count(engine, eventos) == 2


def test_link_after_72_hours_is_expired(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, correo="a@b.mx")
    before = s.model_copy(update={"now": T0 + timedelta(hours=71, minutes=50)})
    page = httpx.get(f"{receptor(before)}/v/{m.secreto}")
    assert "Confirmar" in page.text
    later = s.model_copy(update={"now": T0 + timedelta(hours=72, minutes=1)})
    base = receptor(later)
    assert "debe registrarse de nuevo" in httpx.get(f"{base}/v/{m.secreto}").text
    # A form minted before the deadline and posted after it: still expired.
    late = s.model_copy(update={"now": T0 + timedelta(hours=72, seconds=30)})
    r = httpx.post(f"{receptor(late)}/v/{m.secreto}", data={"csrf": _csrf(page.text)})
    assert "venció" in r.text
    assert _medio(engine, m.medio_id).estado == "enviado"  # reconcile moves it to vencido


def _enviar_codigo(
    http: httpx.Client, telefono: str, codigo: str, rfc: str = RFC
) -> httpx.Response:
    form = http.get("/celular")
    assert "Validación de Celular" in form.text
    data = {"rfc": rfc, "telefono": telefono, "codigo": codigo, "csrf": _csrf(form.text)}
    return http.post("/celular", data=data)


def _otro(codigo: str) -> str:
    return f"{(int(codigo) + 1) % 100000:05d}"


def test_code_right_first_time(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, telefono="5512345678")
    with httpx.Client(base_url=receptor(s)) as http:
        r = _enviar_codigo(http, "5512345678", m.secreto)
    assert "La validación del número celular fue exitosa" in r.text
    assert _medio(engine, m.medio_id).estado == "validado"
    assert _count(engine, outbox, outbox.c.tipo == "confirmacion", outbox.c.canal == "sms") == 1


def test_five_wrong_codes_kill_the_code_across_restarts(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, telefono="5512345678")
    wrong = _otro(m.secreto)
    with httpx.Client(base_url=receptor(s)) as http:
        for _ in range(3):
            r = _enviar_codigo(http, "5512345678", wrong)
            assert "no es correcto" in r.text
    assert _medio(engine, m.medio_id).intentos_fallidos == 3
    with httpx.Client(base_url=receptor(s)) as http:  # a restarted server keeps the count
        assert "no es correcto" in _enviar_codigo(http, "5512345678", wrong).text
        fifth = _enviar_codigo(http, "5512345678", wrong).text
        assert "no es correcto" in fifth and "Reenviar código de verificación" in fifth
        dead = _enviar_codigo(http, "5512345678", m.secreto)  # the right code, too late
        assert "no es correcto" in dead.text and "fue exitosa" not in dead.text
    row = _medio(engine, m.medio_id)
    assert row.estado == "enviado" and row.secreto_hash is None and row.intentos_fallidos == 5


def test_unknown_phone_reveals_nothing(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, telefono="5512345678")
    with httpx.Client(base_url=receptor(s)) as http:
        wrong = _enviar_codigo(http, "5512345678", _otro(m.secreto)).text
        other = _enviar_codigo(http, "5599999999", m.secreto, rfc="XYZ010101AB1").text
        bad = _enviar_codigo(http, "123", "1")
    strip = lambda t: re.sub(r'value="[^"]*"', "", t)  # noqa: E731
    assert strip(wrong) == strip(other)
    assert "Revisa los datos" in bad.text and bad.status_code == 400


SECRETO = "compartido-" + "x" * 32


def _firmar(secret: str, body: bytes, at: datetime = T0) -> dict:
    return sign(secret, body, at)


def test_webhook_signature_and_replay(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0, "webhook_secret": SecretStr(SECRETO)})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, correo="a@b.mx")
    base = receptor(s)
    body = json.dumps(
        {
            "reference": m.outbox_id,
            "status": "bounced",
            "reason": "550 no existe",
            "at": "2024-08-08T12:05:00Z",
        }
    ).encode()
    headers = {"content-type": "application/json"}
    assert httpx.post(f"{base}/webhooks/entregas", content=body, headers=headers).status_code == 401
    forged = _firmar("otro-secreto", body)
    assert (
        httpx.post(
            f"{base}/webhooks/entregas", content=body, headers={**headers, **forged}
        ).status_code
        == 401
    )
    tampered = body.replace(b"bounced", b"delivered")
    signed = _firmar(SECRETO, body)
    r = httpx.post(f"{base}/webhooks/entregas", content=tampered, headers={**headers, **signed})
    assert r.status_code == 401
    assert _count(engine, eventos) == 0
    r = httpx.post(f"{base}/webhooks/entregas", content=body, headers={**headers, **signed})
    assert r.status_code == 200 and r.json() == {"resultado": "no_entregado"}
    replay = httpx.post(f"{base}/webhooks/entregas", content=body, headers={**headers, **signed})
    assert replay.json() == {"resultado": "duplicado"}
    assert _count(engine, eventos) == 1
    row = _medio(engine, m.medio_id)
    assert row.estado == "no_entregado" and row.aclaracion and row.motivo == "550 no existe"
    junk = b'{"reference": "x", "status": "lost", "at": "2024-08-08T12:05:00Z"}'
    r = httpx.post(
        f"{base}/webhooks/entregas",
        content=junk,
        headers={**headers, **_firmar(SECRETO, junk)},
    )
    assert r.status_code == 422


def test_webhook_without_configured_secret_is_refused(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0})
    body = b'{"reference": 1, "status": "delivered"}'
    r = httpx.post(f"{receptor(s)}/webhooks/entregas", content=body, headers=_firmar("", body))
    assert r.status_code == 401
