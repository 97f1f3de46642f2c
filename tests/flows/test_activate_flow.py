"""The activation flow end to end under the Prefect test harness.

One flow run on SQLite only: flow runs cost seconds, and the chunk logic it wraps is tested on
both backends in tests/registry/test_activate.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from buzon.settings import Settings
from registry.db import get_engine
from registry.tables import acuses, alcances, medios, particulares
from signers import demo

NOW = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)


def _seed(settings: Settings, ready: list[str], solo_correo: list[str]) -> None:
    then = NOW - timedelta(days=1)
    rows_m, rows_a = [], []
    for i, rfc in enumerate(ready + solo_correo):
        mecs = ["correo"] + (["telefono"] if rfc in ready else [])
        for j, mec in enumerate(mecs):
            mid = 10 * i + j + 1
            valor = f"{rfc.lower()}@x.mx" if mec == "correo" else f"55{mid:08d}"
            rows_m.append(
                {"id": mid, "rfc": rfc, "mecanismo": mec, "valor": valor, "estado": "validado"}
                | {"folio": f"BI-X-{mid}", "creado_en": then, "actualizado_en": then}
            )
            rows_a.append({"medio_id": mid, "rfc": rfc, "rp": None, "creado_en": then})
    with get_engine(settings).begin() as conn:
        conn.execute(
            insert(particulares), [{"rfc": r, "creado_en": then} for r in ready + solo_correo]
        )
        conn.execute(insert(medios), rows_m)
        conn.execute(insert(alcances), rows_a)


def test_activate_flow(
    prefect_harness: None, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.activate import Resources, activate_chunk_task, activate_flow
    from registry.activate import Keystore

    db_settings = settings
    ready, solo = ["AAA010101AAA", "BBB010101BBB", "CCC010101CCC"], ["DDD010101DDD"]
    _seed(db_settings, ready, solo)
    folder = tmp_path / "efirmas"
    demo.write_keystore(folder, ready, NOW, key=demo.new_key())
    monkeypatch.setenv("BUZON_HOME", str(db_settings.home))
    monkeypatch.setenv("BUZON_NOW", NOW.isoformat())
    out = activate_flow(keystore=str(folder), chunk_size=2)
    assert out["activated"] == 3 and out["failed"] == {}
    assert list(out["not_ready"]) == solo
    # A retried chunk (the task body again) activates nothing twice.
    resources = Resources.load(db_settings.model_copy(update={"now": NOW}))
    again = activate_chunk_task.fn(resources, Keystore.open(folder, {}), ready)
    assert again.activated == [] and again.already_active == ready
    with get_engine(db_settings).connect() as conn:
        assert len(conn.execute(select(acuses.c.folio)).all()) == 3
