"""Two apply processes at once, and an apply killed with SIGKILL mid-way then re-run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from registry_helpers import frame, rp_valido, verifica
from sqlalchemy import Engine, func, select

from buzon.settings import Settings
from registry.apply import apply_entries
from registry.db import dispose_all, get_engine
from registry.tables import acuses, alcances, medios, outbox, particulares

WORKER = Path(__file__).with_name("apply_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def _entries(n_rfcs: int, rps_per_rfc: int):  # noqa: ANN202
    rows = []
    for i in range(n_rfcs):
        rfc = f"AAA{i:06d}A{i % 10:02d}"[:12]
        rows.append((rfc, None, "correo", f"rh{i}@x.mx"))
        rows.append((rfc, None, "telefono", f"55{i:08d}"))
        for j in range(rps_per_rfc):
            rp = rp_valido(f"A{i % 100:02d}", i * rps_per_rfc + j)
            rows.append((rfc, rp, "correo", f"rh{i}@x.mx"))
            rows.append((rfc, rp, "correo", f"p{i}-{j // 3}@x.mx"))
    return frame(rows)


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    env.update(
        BUZON_HOME=str(settings.home),
        BUZON_CHUNK_SIZE=str(settings.chunk_size),
        BUZON_SEAL_KEY=str(settings.seal_key),
        BUZON_SEAL_CERT=str(settings.seal_cert),
        PYTHONPATH=str(ROOT),
    )
    if settings.database_url:
        env["BUZON_DATABASE_URL"] = settings.database_url
    return env


def _estado(engine: Engine) -> dict:
    """The end state, independent of folio values and times."""
    with engine.connect() as conn:
        media = sorted(conn.execute(select(medios.c.rfc, medios.c.mecanismo, medios.c.valor,
                                           medios.c.estado)).tuples())  # fmt: skip
        scopes = sorted(
            conn.execute(
                select(medios.c.valor, alcances.c.rp).join(
                    medios, medios.c.id == alcances.c.medio_id
                )
            ).tuples(),
            key=str,
        )
        acks = sorted(conn.execute(select(acuses.c.tipo, acuses.c.medio)).tuples())
        box = sorted(conn.execute(select(outbox.c.destino, outbox.c.tipo)).tuples())
        folios = conn.execute(select(func.count(func.distinct(acuses.c.folio)))).scalar_one()
    return {"media": media, "scopes": scopes, "acuses": acks, "outbox": box, "folios": folios}


def test_two_processes_never_duplicate(rsettings: Settings, tmp_path: Path) -> None:
    data = _entries(20, 4)
    path = tmp_path / "carga.parquet"
    data.write_parquet(path)
    get_engine(rsettings)  # migrate first, as `buzon db upgrade` would
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), str(path)], env=_env(rsettings),
                         stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(r["registered"] for r in results) == 20 * 4
    assert sum(r["acuses"]["registro"] for r in results) == 80
    estado = _estado(get_engine(rsettings))
    assert len(estado["media"]) == len(set(estado["media"])) == 80
    assert len(estado["outbox"]) == 80 and estado["folios"] == 80
    assert len(estado["scopes"]) == len(set(estado["scopes"])) == data.height


def _particulares(settings: Settings, engine) -> int:  # noqa: ANN001
    """Committed particulares, read without queueing behind the writer: the store's SQLite
    connections begin with ``BEGIN IMMEDIATE`` (the write lock), and a poller that waits for that
    lock between a fast worker's chunks can starve until the whole upload is in."""
    if settings.database_url:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(particulares)).scalar_one()
    with closing(sqlite3.connect(f"file:{settings.home / 'buzon.db'}?mode=ro", uri=True)) as db:
        return db.execute("SELECT count(*) FROM particulares").fetchone()[0]


def test_kill_mid_apply_then_rerun_equals_one_clean_run(
    rsettings: Settings,
    sello,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    data = _entries(200, 4)
    path = tmp_path / "carga.parquet"
    data.write_parquet(path)
    settings = rsettings.model_copy(update={"chunk_size": 20})
    engine = get_engine(settings)
    proc = subprocess.Popen([sys.executable, str(WORKER), str(path)], env=_env(settings),
                            stdout=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        committed = _particulares(settings, engine)
        if committed >= 6:  # a few chunks are in; more are on their way
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.fail("the worker finished before it could be killed; make the upload larger")
    assert 6 <= committed < 200
    result = apply_entries(engine, settings, data, sello=sello)
    assert 0 < result.registered < 800  # 200 RFCs x 4 media
    tras_crash = _estado(engine)

    dispose_all()
    limpio = settings.model_copy(update={"home": tmp_path / "limpio"})
    if settings.database_url:
        with engine.begin() as conn:  # same schema, emptied: one clean run from scratch
            for t in ("auditoria", "acuses", "outbox", "alcances", "medios",
                      "registros_patronales", "particulares", "folio_reloj"):  # fmt: skip
                conn.exec_driver_sql(f"DELETE FROM {t}")
        limpio = settings
    apply_entries(get_engine(limpio), limpio, data, sello=sello)
    assert _estado(get_engine(limpio)) == tras_crash
    assert len(tras_crash["media"]) == 800 and tras_crash["folios"] == 800
    with get_engine(limpio).connect() as conn:
        sellados = conn.execute(select(acuses.c.cadena_original, acuses.c.sello)).all()
    assert len(sellados) == 800 and all(verifica(sello, c, s) for c, s in sellados)
