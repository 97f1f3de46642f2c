"""End to end in real headless Chromium: the spooled email's link, the page, the button."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from seed import sembrar
from sqlalchemy import func, select

from buzon.settings import Settings
from callbacks.simulate import enlaces
from delivery.dispatcher import dispatch
from registry.db import get_engine
from registry.tables import acuses, medios, outbox

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="Debian's chromium is not installed (apt-get install chromium)",
)
def test_click_confirmar_in_chromium(settings: Settings, receptor) -> None:
    from playwright.sync_api import sync_playwright

    s = settings.model_copy(update={"now": datetime(2024, 8, 8, 12, 0, tzinfo=UTC)})
    engine = get_engine(s)
    m = sembrar(engine, s, "EKU9003173C9", correo="ana.perez@empresa.mx", estado="registrado")
    dispatch(s, limit=10)  # the real dispatcher writes the .eml to the spool
    (token,) = enlaces(s)
    base = receptor(s)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/v/{token}")
            assert page.get_by_text("EKU9003173C9").is_visible()
            assert page.get_by_text("a*******z@empresa.mx").is_visible()
            page.get_by_role("button", name="Confirmar").click()
            page.wait_for_load_state()
            assert page.get_by_text(
                "La validación de tu correo electrónico fue exitosa"
            ).is_visible()
        finally:
            browser.close()
    with engine.connect() as conn:
        assert (
            conn.execute(select(medios.c.estado).where(medios.c.id == m.medio_id)).scalar_one()
            == "validado"
        )
        n_acuses = conn.execute(
            select(func.count())
            .select_from(acuses)
            .where(acuses.c.tipo == "validacion", acuses.c.medio_id == m.medio_id)
        ).scalar_one()
        n_conf = conn.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.tipo == "confirmacion", outbox.c.medio_id == m.medio_id)
        ).scalar_one()
    assert n_acuses == 1 and n_conf == 1
