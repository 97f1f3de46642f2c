"""One clock: any ISO 8601 offset in BUZON_NOW means the same instant, stored in UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from buzon.cli import cli
from buzon.settings import Settings
from registry.db import dispose_all, get_engine
from registry.tables import medios, outbox

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "carga_corporativo.xlsx"
# One instant, three spellings: Mexico City's offset, UTC, and an offset far from both.
MISMO_INSTANTE = ["2026-06-15T12:00:00-06:00", "2026-06-15T18:00:00Z", "2026-06-15T23:30:00+05:30"]


def _run(rsettings: Settings, home: Path, now: str, *args: str) -> dict:
    env = {
        "BUZON_HOME": str(home),
        "BUZON_SEAL_KEY": str(rsettings.seal_key),
        "BUZON_SEAL_CERT": str(rsettings.seal_cert),
        "BUZON_NOW": now,
    }
    if rsettings.database_url:
        env["BUZON_DATABASE_URL"] = rsettings.database_url
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output + str(result.exception)
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.mark.parametrize("now", MISMO_INSTANTE)
def test_apply_then_send_with_any_offset(rsettings: Settings, tmp_path: Path, now: str) -> None:
    """The reproduced bug: with Mexico City's offset in BUZON_NOW, send found nothing due."""
    home = tmp_path / "home"
    home.mkdir()
    applied = _run(rsettings, home, now, "apply", str(SAMPLE), "--json")
    sent = _run(rsettings, home, now, "send", "--json")
    assert applied["registered"] > 0
    assert (sent["sent"], sent["pending"]) == (applied["registered"], 0)
    engine = get_engine(rsettings.model_copy(update={"home": home}))
    with engine.connect() as conn:
        instantes = conn.execute(select(medios.c.creado_en, medios.c.vence_en)).all()
        due = conn.execute(select(outbox.c.proximo_intento)).scalars().all()
    dispose_all()
    t = datetime(2026, 6, 15, 18, tzinfo=UTC)
    assert {r.creado_en for r in instantes} == {t}
    assert {r.vence_en for r in instantes} == {datetime(2026, 6, 18, 18, tzinfo=UTC)}
    assert set(due) == {t}


def test_same_folios_whatever_the_offset(rsettings: Settings, tmp_path: Path) -> None:
    """Folios are minted from the instant: every spelling of it gives the same folios."""
    folios = []
    for n, now in enumerate(MISMO_INSTANTE):
        home = tmp_path / f"home{n}"
        home.mkdir()
        settings = rsettings.model_copy(update={"home": home})
        if rsettings.database_url:
            # One store per spelling: a fresh schema is what db_settings gives, so empty it.
            with get_engine(settings).begin() as conn:
                for table in ("auditoria", "acuses", "outbox", "alcances", "medios"):
                    conn.exec_driver_sql(f"DELETE FROM {table}")
                conn.exec_driver_sql("DELETE FROM registros_patronales")
                conn.exec_driver_sql("DELETE FROM particulares")
                conn.exec_driver_sql("DELETE FROM folio_reloj")
        _run(rsettings, home, now, "apply", str(SAMPLE), "--json")
        with get_engine(settings).connect() as conn:
            folios.append(sorted(conn.execute(select(medios.c.folio)).scalars()))
        dispose_all()
    assert folios[0] and folios[0] == folios[1] == folios[2]
