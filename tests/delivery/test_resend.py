"""`buzon resend`: a new code at once, the old one dead at once, at most 5 sends per medium."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from delivery_helpers import add_media, sms_settings
from sqlalchemy import select

from buzon.cli import cli
from buzon.errors import LimitReachedError, NotFoundError, TransitionError
from delivery import secrets as sec
from delivery.dispatcher import dispatch
from delivery.resend import resend
from registry.db import get_engine
from registry.tables import auditoria, medios, outbox


def _medio(settings, mid):  # noqa: ANN001, ANN202
    with get_engine(settings).connect() as conn:
        return conn.execute(select(medios).where(medios.c.id == mid)).one()


def _code(gateway, i: int = -1) -> str:  # noqa: ANN001
    return re.search(r"\b(\d{5})\b", gateway.requests[i].body["message"]).group(1)


def test_resend_kills_the_old_code_and_sends_a_new_one(db_settings, gateway):
    settings = sms_settings(db_settings, gateway)
    (m,) = add_media(settings, [("telefono", "5512345678")])
    dispatch(settings)
    key = sec.load_key(settings)
    old = _code(gateway)
    assert sec.verify_code(key, m.id, old, _medio(settings, m.id).secreto_hash)

    new_id, _ = resend(settings, m.rfc, "+52 55 1234 5678", send=False)
    row = _medio(settings, m.id)
    assert row.secreto_hash is None and row.envio_vigente is None  # dead before the new send
    assert not sec.verify_code(key, m.id, old, row.secreto_hash)

    dispatch(settings)
    new = _code(gateway)
    row = _medio(settings, m.id)
    assert row.envio_vigente == new_id and row.envios == 2 and row.estado == "enviado"
    assert sec.verify_code(key, m.id, new, row.secreto_hash)
    if new != old:
        assert not sec.verify_code(key, m.id, old, row.secreto_hash)
    with get_engine(settings).connect() as conn:
        origenes = (
            conn.execute(select(auditoria.c.origen).where(auditoria.c.entidad_id == str(m.id)))
            .scalars()
            .all()
        )
    assert "comando:resend" in origenes


def test_at_most_five_sends_then_a_clear_refusal(db_settings, gateway):
    settings = sms_settings(db_settings, gateway)
    (m,) = add_media(settings, [("telefono", "5512345670")])
    dispatch(settings)
    for _ in range(4):
        resend(settings, m.rfc, m.valor)
    assert _medio(settings, m.id).envios == 5
    assert len({r.body["message"] for r in gateway.requests}) >= 2
    with pytest.raises(LimitReachedError, match="máximo de 5 envíos"):
        resend(settings, m.rfc, m.valor)
    with get_engine(settings).connect() as conn:
        assert conn.execute(select(outbox.c.estado)).scalars().all().count("pendiente") == 0


def test_resend_refusals(db_settings, gateway):
    settings = sms_settings(db_settings, gateway)
    (m,) = add_media(settings, [("correo", "valida@ejemplo.mx")])
    with pytest.raises(NotFoundError):
        resend(settings, m.rfc, "otro@ejemplo.mx")
    with get_engine(settings).begin() as conn:
        conn.execute(medios.update().values(estado="validado"))
    with pytest.raises(TransitionError, match="ya está validado"):
        resend(settings, m.rfc, " Valida@Ejemplo.MX ")


def test_cli_resend_prints_one_spanish_line(settings, monkeypatch):
    (m,) = add_media(settings, [("telefono", "5598765432")])
    monkeypatch.setenv("BUZON_HOME", str(settings.home))
    monkeypatch.setenv("BUZON_MAX_SENDS_PER_MEDIUM", "1")
    runner = CliRunner()
    ok = runner.invoke(cli, ["resend", "--rfc", m.rfc, "--medio", m.valor])
    assert ok.exit_code == 0 and "reenvío enviado" in ok.output
    refused = runner.invoke(cli, ["resend", "--rfc", m.rfc, "--medio", m.valor])
    assert refused.exit_code == 1
    assert refused.output.startswith("error: se alcanzó el máximo de 1 envíos")
    assert "Traceback" not in refused.output
