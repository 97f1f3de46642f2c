"""``buzon run --shards 2`` on two Prefect workers equals a serial run (PostgreSQL registry)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from flows.server import local_server

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"
PG_URL = os.environ.get("BUZON_TEST_POSTGRES_URL")

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs BUZON_TEST_POSTGRES_URL")


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases (sharded, serial), dropped afterwards."""
    base = make_url(PG_URL)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    names = [f"buzon_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("shards", "serial")]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _counts(conn, table: str) -> Counter:  # noqa: ANN001
    return Counter(
        dict(conn.execute(text(f"SELECT tipo, count(*) FROM {table} GROUP BY tipo")).all())
    )


def _state(url: str) -> dict:
    """Every medium's state and scopes, counts per kind, and whether folios are unique."""
    engine = create_engine(url)
    with engine.connect() as conn:
        medios = conn.execute(text(
            "SELECT m.rfc, m.mecanismo, m.valor, m.estado, "
            "string_agg(coalesce(a.rp, '-'), ',' ORDER BY coalesce(a.rp, '-')) "
            "FROM medios m JOIN alcances a ON a.medio_id = m.id "
            "GROUP BY m.id, m.rfc, m.mecanismo, m.valor, m.estado"
        )).all()  # fmt: skip
        acuses, outbox = _counts(conn, "acuses"), _counts(conn, "outbox")
        folios = conn.execute(text(
            "SELECT (SELECT count(*) FROM acuses), (SELECT count(DISTINCT folio) FROM acuses)"
        )).one()  # fmt: skip
    engine.dispose()
    return {
        "medios": sorted(tuple(r) for r in medios),
        "acuses": acuses,
        "outbox": outbox,
        "folios_unicos": folios[0] == folios[1] > 0,
    }


def _run(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:  # noqa: ANN003
    return subprocess.run(
        [sys.executable, "-m", *args], env=env, cwd=ROOT, capture_output=True, text=True, **kw
    )


@pytest.mark.timeout(900)
def test_two_workers_equal_one_serial_run(tmp_path: Path, databases: tuple[str, str]) -> None:
    sharded_db, serial_db = databases
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BUZON_", "PREFECT_"))}
    base |= {"PYTHONPATH": str(ROOT), "BUZON_PROJECT_DIR": str(ROOT),
             "BUZON_NOW": "2026-12-02T10:00:00-06:00"}  # fmt: skip
    with local_server(tmp_path / "prefect-server") as api:
        env = base | {
            "PREFECT_API_URL": api,
            "PREFECT_HOME": str(tmp_path / "prefect-client"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "BUZON_HOME": str(tmp_path / "home"),
            "BUZON_DATABASE_URL": sharded_db,
        }
        pool = f"buzon-prueba-{uuid.uuid4().hex[:6]}"
        made = _run(["prefect", "work-pool", "create", pool, "--type", "process"], env)
        assert made.returncode == 0, made.stdout + made.stderr
        deployed = _run(
            ["prefect", "--no-prompt", "deploy", "--name", "buzon-shard", "--pool", pool], env
        )
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "prefect",
                    "worker",
                    "start",
                    "--pool",
                    pool,
                    "--limit",
                    "1",
                    "--name",
                    f"trabajador-{i}",
                ],
                env=env,
                cwd=ROOT,
                stdout=(tmp_path / f"worker-{i}.log").open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            for i in range(2)
        ]
        try:
            sharded = _run(["buzon", "run", str(SAMPLE), "--shards", "2", "--json"], env,
                           timeout=600)  # fmt: skip
        finally:
            for w in workers:
                os.killpg(w.pid, signal.SIGTERM)
            for w in workers:
                w.wait(timeout=60)
        assert sharded.returncode == 0, sharded.stderr[-3000:]
        res = json.loads(sharded.stdout.strip().splitlines()[-1])
        assert res["apply"]["shards"] == 2
        logs = "".join((tmp_path / f"worker-{i}.log").read_text() for i in range(2))
        assert logs.count("buzon-shard") >= 2  # the shards ran on the workers

    serial_env = base | {
        "BUZON_HOME": str(tmp_path / "home-serial"),
        "BUZON_DATABASE_URL": serial_db,
        "PREFECT_HOME": str(tmp_path / "prefect-serial"),
    }
    serial = _run(["buzon", "run", str(SAMPLE), "--json"], serial_env, timeout=600)
    assert serial.returncode == 0, serial.stderr[-3000:]
    expected = json.loads(serial.stdout.strip().splitlines()[-1])
    assert res["apply"]["registered"] == expected["apply"]["registered"] > 0

    a, b = _state(sharded_db), _state(serial_db)
    assert a["folios_unicos"] and b["folios_unicos"]
    assert a == b
