"""The 72-hour windows through the CLI with an injected clock (BUZON_NOW).

Email: 72 h from the registration; mobile: 72 h from the SMS; a resend opens a new window; a
medium never sent expires 72 h after its registration and the next apply registers it again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from buzon.cli import cli
from buzon.settings import Settings
from registry.db import get_engine
from registry.tables import medios
from registry.ventanas import antes_del

RFC = "EKU9003173C9"
T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # 12:00 in Mexico City


@pytest.fixture
def cli_at(rsettings: Settings):  # noqa: ANN201
    """``cli_at(instant, *args)``: run ``buzon`` with BUZON_NOW = instant against the test store."""

    def invoke(now: datetime, *args: str, code: int = 0):  # noqa: ANN202
        env = {
            "BUZON_HOME": str(rsettings.home),
            "BUZON_SEAL_KEY": str(rsettings.seal_key),
            "BUZON_SEAL_CERT": str(rsettings.seal_cert),
            "BUZON_NOW": now.isoformat(),
        }
        if rsettings.database_url:
            env["BUZON_DATABASE_URL"] = rsettings.database_url
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == code, result.output + str(result.exception)
        return result

    return invoke


def _carga(tmp_path: Path) -> Path:
    path = tmp_path / "carga.csv"
    path.write_text(f"RFC,Correo,Celular\n{RFC},rh@kumo.mx,5512345678\n", encoding="utf-8")
    return path


def _medios(settings: Settings) -> dict[str, list]:
    out: dict[str, list] = {}
    with get_engine(settings).connect() as conn:
        for m in conn.execute(select(medios).order_by(medios.c.id)):
            out.setdefault(m.valor, []).append(m)
    return out


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_email_from_registration_sms_from_sending_resend_renews(cli_at, rsettings, tmp_path):
    cli_at(T0, "apply", str(_carga(tmp_path)))
    registrados = _medios(rsettings)
    for valor in ("rh@kumo.mx", "5512345678"):  # both hold a registration window
        assert _utc(registrados[valor][0].vence_en) == T0 + timedelta(hours=72)

    sent_at = T0 + timedelta(hours=10)
    cli_at(sent_at, "send")
    m = _medios(rsettings)
    correo, celular = m["rh@kumo.mx"][0], m["5512345678"][0]
    assert _utc(correo.vence_en) == T0 + timedelta(hours=72)  # from the registration
    assert _utc(celular.vence_en) == sent_at + timedelta(hours=72)  # from the SMS

    (eml,) = (rsettings.home / "spool" / "email").glob("*.eml")
    text = message_from_bytes(eml.read_bytes(), policy=policy.default)
    plain = text.get_body(("plain",)).get_content()
    assert antes_del(T0 + timedelta(hours=72)) == "antes del 05/12/2026 12:00"
    assert "antes del 05/12/2026 12:00" in plain, plain
    (sms,) = [
        json.loads(x) for x in (rsettings.home / "spool" / "sms.jsonl").read_text().splitlines()
    ]
    assert "antes del 05/12/2026 22:00" in sms["message"] and RFC in sms["message"]

    resent_at = T0 + timedelta(hours=30)
    cli_at(resent_at, "resend", "--rfc", RFC, "--medio", "rh@kumo.mx")
    assert _utc(_medios(rsettings)["rh@kumo.mx"][0].vence_en) == resent_at + timedelta(hours=72)

    # 73 h after the registration: the SMS window (from sending) and the resent email still run.
    out = json.loads(cli_at(T0 + timedelta(hours=73), "reconcile", "--json").output)
    assert out["expired"] == 0
    out = json.loads(cli_at(sent_at + timedelta(hours=73), "reconcile", "--json").output)
    assert out["expired"] == 1
    assert _medios(rsettings)["5512345678"][0].estado == "vencido"


def test_never_sent_media_expire_and_register_again(cli_at, rsettings, tmp_path):
    carga = _carga(tmp_path)
    cli_at(T0, "apply", str(carga))
    out = json.loads(cli_at(T0 + timedelta(hours=71), "reconcile", "--json").output)
    assert out["expired"] == 0
    out = json.loads(cli_at(T0 + timedelta(hours=72, minutes=1), "reconcile", "--json").output)
    assert out["expired"] == 2
    status = json.loads(cli_at(T0 + timedelta(hours=73), "status", "--json").output)
    assert status["por_estado"].get("registrado", 0) == 0 and status["por_estado"]["vencido"] == 2

    again = json.loads(cli_at(T0 + timedelta(hours=74), "apply", str(carga), "--json").output)
    assert again["registered"] == 2
    m = _medios(rsettings)
    for valor in ("rh@kumo.mx", "5512345678"):
        viejo, nuevo = m[valor]
        assert (viejo.estado, nuevo.estado) == ("vencido", "registrado")
        assert viejo.folio != nuevo.folio
    # The expired medium's pending message is never sent; the new one is.
    sent = json.loads(cli_at(T0 + timedelta(hours=75), "send", "--json").stdout)
    assert sent["sent"] == 2
