"""The demo's simulated recipients against the real dispatcher's spool and a running receiver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from seed import sembrar
from sqlalchemy import select

from buzon.cli import cli
from buzon.settings import Settings
from callbacks.simulate import simular
from delivery.dispatcher import dispatch
from registry.db import get_engine
from registry.tables import medios

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)


def test_simulated_recipients_then_72_hours(settings: Settings, monkeypatch) -> None:
    s = settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    for i in range(3):
        sembrar(engine, s, f"EKU900317{i}C9"[:12], correo=f"p{i}@empresa.mx", estado="registrado")
        sembrar(engine, s, f"EKU900317{i}C9"[:12], telefono=f"551234567{i}", estado="registrado")
    dispatch(s, limit=100)
    out = simular(s, correos=2, celulares=2)
    assert [c["resultado"] for c in out["correos"]] == ["validado", "validado"]
    assert [c["intentos"] for c in out["celulares"]] == [["codigo_incorrecto", "validado"]] * 2
    monkeypatch.setenv("BUZON_HOME", str(s.home))
    monkeypatch.setenv("BUZON_NOW", (T0 + timedelta(hours=73)).isoformat())
    r = CliRunner().invoke(cli, ["reconcile", "--json"])
    assert r.exit_code == 0, r.output
    assert '"expired": 2' in r.output
    with engine.connect() as conn:
        estados = sorted(conn.execute(select(medios.c.estado)).scalars())
    assert estados == ["validado"] * 4 + ["vencido"] * 2
