"""`buzon resend --rfc RFC` and `buzon resend --pendientes [--antes-de]`, through the CLI;
and the SMS a phone shared by several RFCs receives (one per RFC, each naming its RFC)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from buzon.cli import cli
from buzon.settings import Settings
from registry.db import get_engine
from registry.tables import medios

A, B, C = "EKU9003173C9", "ABC680524P76", "XYZ010101AB1"
T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


@pytest.fixture
def buzon(db_settings: Settings):  # noqa: ANN201
    def invoke(now: datetime, *args: str, code: int = 0, extra: dict | None = None):  # noqa: ANN202
        env = {"BUZON_HOME": str(db_settings.home), "BUZON_NOW": now.isoformat(), **(extra or {})}
        if db_settings.database_url:
            env["BUZON_DATABASE_URL"] = db_settings.database_url
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == code, result.output + str(result.exception)
        return result

    return invoke


def _carga(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "carga.csv"
    path.write_text("RFC,Correo,Celular\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _envios(settings: Settings) -> dict[tuple[str, str], int]:
    with get_engine(settings).connect() as conn:
        return {
            (r.rfc, r.valor): r.envios
            for r in conn.execute(select(medios.c.rfc, medios.c.valor, medios.c.envios))
        }


def test_resend_by_rfc_and_pending_before_an_instant(buzon, db_settings, tmp_path):
    carga = _carga(tmp_path, [f"{A},rh@kumo.mx,5512345678", f"{B},nomina@bajio.mx,5587654321"])
    buzon(T0, "apply", str(carga))
    buzon(T0, "send")
    later = T0 + timedelta(hours=1)
    out = json.loads(buzon(later, "resend", "--rfc", A, "--json").stdout)
    assert out == {"resent": 2, "skipped": {}}
    envios = _envios(db_settings)
    assert envios[(A, "rh@kumo.mx")] == envios[(A, "5512345678")] == 2
    assert envios[(B, "nomina@bajio.mx")] == 1

    # Deadlines: A's two media run to T0+73h now, B's to T0+72h.
    cutoff = (T0 + timedelta(hours=72, minutes=30)).isoformat(timespec="seconds")
    out = json.loads(buzon(later, "resend", "--pendientes", "--antes-de", cutoff, "--json").stdout)
    assert out == {"resent": 2, "skipped": {}}
    assert _envios(db_settings)[(B, "5587654321")] == 2
    assert _envios(db_settings)[(A, "5512345678")] == 2

    # Within the cap of 5 sends per medium, then skipped with a reason.
    for _ in range(3):
        buzon(later, "resend", "--rfc", A, "--json")
    out = json.loads(buzon(later, "resend", "--rfc", A, "--json").stdout)
    assert out == {"resent": 0, "skipped": {"LIMITE_ENVIOS": 2}}
    out = json.loads(buzon(later, "resend", "--pendientes", "--json").stdout)
    assert out == {"resent": 2, "skipped": {"LIMITE_ENVIOS": 2}}
    assert "reenviados: 0" in buzon(later, "resend", "--rfc", A).stdout


def test_resend_usage_errors_are_one_line(buzon):
    for args in (["resend"], ["resend", "--medio", "a@b.mx"], ["resend", "--rfc", A, "--antes-de",
                 "2026-12-05"]):  # fmt: skip
        result = buzon(T0, *args, code=2)
        assert "Traceback" not in result.output


def test_a_phone_shared_by_three_rfcs_gets_three_distinguishable_sms(buzon, tmp_path, gateway):
    carga = _carga(tmp_path, [f"{A},,55 1234 5678", f"{B},,5512345678", f"{C},,+52 55 1234 5678"])
    http = {"BUZON_SMS_TRANSPORT": "http", "BUZON_SMS_URL": gateway.url}
    buzon(T0, "apply", str(carga))
    buzon(T0, "send", extra=http)
    textos = [r.body["message"] for r in gateway.requests]
    assert len(textos) == 3 and {r.body["to"] for r in gateway.requests} == {"+525512345678"}
    por_rfc = {rfc: [t for t in textos if rfc in t] for rfc in (A, B, C)}
    assert all(len(v) == 1 for v in por_rfc.values())  # each names exactly its own RFC
    codigos = {re.search(r"\b\d{5}\b", v[0])[0] for v in por_rfc.values()}
    assert len(codigos) == 3 or len(set(textos)) == 3
    for t in textos:
        assert "antes del 05/12/2026 12:00" in t and "http://127.0.0.1:8080/celular" in t


def test_a_long_public_url_sends_one_request_with_the_address(buzon, tmp_path, gateway, caplog):
    from delivery.render import warn_long_sms

    warn_long_sms.cache_clear()
    url = "https://validacion-de-medios-de-contacto.buzon-masivo.empresa-ejemplo.com.mx/imss"
    carga = _carga(tmp_path, [f"{A},,5512345678"])
    buzon(T0, "apply", str(carga))
    env = {"BUZON_SMS_TRANSPORT": "http", "BUZON_SMS_URL": gateway.url, "BUZON_PUBLIC_URL": url}
    with caplog.at_level("WARNING", logger="delivery.render"):
        buzon(T0, "send", extra=env)
    (req,) = gateway.requests
    assert req.body["message"].endswith(f"{url}/celular") and len(req.body["message"]) > 160
    assert A in req.body["message"] and "antes del" in req.body["message"]
    avisos = [r for r in caplog.records if "BUZON_PUBLIC_URL" in r.getMessage()]
    assert len(avisos) == 1 and "una sola solicitud" in avisos[0].getMessage()
