"""``estado.html``: escaped, self-contained, and working offline in headless Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from reports_helpers import NOMBRE_A, RP1, RP2, RP_B, B, Registro

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def pagina(registro_sqlite: Registro, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html")
    registro_sqlite.run("report", "--out", str(out), "--sin-paquetes")
    return out / "estado.html"


def test_hostile_names_are_escaped(pagina: Path) -> None:
    html = pagina.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Kumo &amp; Ñandú" in html and NOMBRE_A not in html  # & escaped, Ñ kept
    assert html.count("<script>") == 1  # only the page's own inline script


def test_nothing_is_loaded_from_anywhere(pagina: Path) -> None:
    html = pagina.read_text(encoding="utf-8")
    assert not re.search(r"<(script|img|link|iframe|object|embed|source)\b[^>]*\b(src|href)=", html)
    assert not re.search(r"@import|url\(|@font-face", html)
    assert "<svg" in html and "<style>" in html


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
def test_table_chart_and_filter_in_chromium(pagina: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = browser.new_context(offline=True)  # nothing may be fetched
            page = ctx.new_page()
            pedidos: list[str] = []
            page.on("request", lambda r: pedidos.append(r.url))
            page.goto(pagina.as_uri())
            page.screenshot(path=str(tmp_path / "estado.png"), full_page=True)
            if os.environ.get("REPORTS_TEST_SHOTS"):  # to look at it by hand
                page.screenshot(
                    path=os.environ["REPORTS_TEST_SHOTS"] + "/estado.png", full_page=True
                )
            assert (tmp_path / "estado.png").stat().st_size > 10_000
            assert pedidos == [pagina.as_uri()]
            filas = page.locator("#por-rp tbody tr")
            assert filas.count() == 3
            assert page.locator("#grafica rect").count() >= 7 + 2  # legend + bars
            assert page.locator("#grafica g > text", has_text=B).count() == 1

            page.fill("#filtro", RP_B)
            assert page.locator("#por-rp tbody tr:visible").count() == 1
            assert page.locator("#contador").inner_text() == "1 de 3 registros patronales"
            page.fill("#filtro", "")
            page.select_option("#filtro-estado", "activado")
            assert page.locator("#por-rp tbody tr:visible").count() == 2
            page.select_option("#filtro-estado", "")

            page.click("#por-rp th[data-col='2']")  # registro_patronal, ascending
            primero = page.locator("#por-rp tbody tr").first.locator("td").nth(2).inner_text()
            assert primero == min(RP1, RP2, RP_B)
            page.click("#por-rp th[data-col='2']")  # descending
            primero = page.locator("#por-rp tbody tr").first.locator("td").nth(2).inner_text()
            assert primero == max(RP1, RP2, RP_B)
        finally:
            browser.close()


def test_rows_are_escaped_like_jinja() -> None:
    import polars as pl
    from markupsafe import escape

    from reports.html import filas_html

    hostil = ["<b>\"x\" & 'y'</b>", "Ñandú & Cía", None]
    html = filas_html(pl.DataFrame({"t": hostil, "n": [1, 2, 3]}))
    esperado = "".join(
        f'<tr><td>{escape(t) if t is not None else ""}</td><td class="num">{n}</td></tr>\n'
        for t, n in zip(hostil, [1, 2, 3], strict=True)
    )
    assert html == esperado
