"""«Reenviar código de verificación» on /celular, under a real uvicorn server (httpx) and in
real headless Chromium: same words for every pair, the old code dies at once, one resend per
minute from the last send, only while ``enviado`` and in the window, within the cap of 5."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from seed import medio as _medio
from seed import sembrar

from buzon.settings import Settings
from callbacks.reenvio import RESPUESTA
from callbacks.simulate import codigos
from delivery import secrets as sec
from registry.db import get_engine

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
RFC, OTRO = "EKU9003173C9", "ABC680524P76"
CEL = "5512345678"


def _csrf_reenvio(html: str) -> str:
    return re.findall(r'name="csrf" value="([^"]+)"', html)[1]  # the second form's


def _reenviar(base: str, rfc: str, telefono: str) -> httpx.Response:
    with httpx.Client(base_url=base) as http:
        token = _csrf_reenvio(http.get("/celular").text)
        return http.post(
            "/celular/reenviar", data={"rfc": rfc, "telefono": telefono, "csrf": token}
        )


def _esperar_envio(engine, mid: int, envios: int) -> None:  # noqa: ANN001
    for _ in range(300):  # the SMS goes out in a background task after the answer
        if _medio(engine, mid).envios >= envios:
            return
        time.sleep(0.02)
    raise AssertionError("el reenvío no salió")


def test_same_words_for_every_pair_and_the_rules(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, telefono=CEL)
    sembrar(engine, s, OTRO, correo="a@b.mx")

    # Within 60 s of the last send: nothing is sent, and the answer is the usual one.
    r = _reenviar(receptor(s), RFC, CEL)
    assert r.status_code == 200 and RESPUESTA in r.text
    assert _medio(engine, m.medio_id).envios == 1

    later = s.model_copy(update={"now": T0 + timedelta(seconds=61)})
    base = receptor(later)
    answers = {
        _reenviar(base, RFC, "55 1234 5678").text.split("<form")[0],
        _reenviar(base, RFC, "5599999999").text.split("<form")[0],  # not registered
        _reenviar(base, OTRO, CEL).text.split("<form")[0],  # another RFC's pair
        _reenviar(base, "XAXX010101000", CEL).text.split("<form")[0],
    }
    assert len(answers) == 1 and RESPUESTA in answers.pop()  # nothing tells the pairs apart
    _esperar_envio(engine, m.medio_id, 2)
    row = _medio(engine, m.medio_id)
    assert row.envios == 2 and row.envio_vigente != m.outbox_id
    (_, _, nuevo) = codigos(s)[0]
    with httpx.Client(base_url=base) as http:  # the old code is dead, the new one validates
        page = http.get("/celular").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        viejo = http.post(
            "/celular", data={"rfc": RFC, "telefono": CEL, "codigo": m.secreto, "csrf": csrf}
        )
        assert "validación del número celular fue exitosa" not in viejo.text or m.secreto == nuevo
    key = sec.load_key(s)
    assert sec.verify_code(key, m.medio_id, nuevo, _medio(engine, m.medio_id).secreto_hash)

    # A second request at once: the minute counts from the last send.
    _reenviar(base, RFC, CEL)
    time.sleep(0.2)
    assert _medio(engine, m.medio_id).envios == 2

    # Out of the window: no resend (the medium must be registered again).
    tarde = s.model_copy(update={"now": T0 + timedelta(hours=80)})
    assert RESPUESTA in _reenviar(receptor(tarde), RFC, CEL).text
    time.sleep(0.2)
    assert _medio(engine, m.medio_id).envios == 2

    # Bad CSRF: refused, nothing sent.
    with httpx.Client(base_url=base) as http:
        r = http.post("/celular/reenviar", data={"rfc": RFC, "telefono": CEL, "csrf": "x.y.z"})
    assert r.status_code == 403


def test_the_cap_of_five_sends_holds(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, telefono=CEL)
    for i in range(2, 7):
        now = T0 + timedelta(minutes=2 * i)
        _reenviar(receptor(s.model_copy(update={"now": now})), RFC, CEL)
        if i <= 5:
            _esperar_envio(engine, m.medio_id, i)
    time.sleep(0.2)
    assert _medio(engine, m.medio_id).envios == 5


CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
def test_resend_button_in_chromium(settings: Settings, receptor) -> None:
    from playwright.sync_api import sync_playwright

    s = settings.model_copy(update={"now": T0 + timedelta(minutes=5)})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, telefono=CEL, enviado_en=T0)
    base = receptor(s)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/celular")
            page.fill("#rfc-reenvio", RFC)
            page.fill("#telefono-reenvio", CEL)
            page.get_by_role("button", name="Reenviar código de verificación").click()
            page.wait_for_load_state()
            assert page.get_by_text("enviamos un código nuevo").is_visible()
        finally:
            browser.close()
    _esperar_envio(engine, m.medio_id, 2)
