"""Readers never wait for writers: with the SQLite write lock held by another connection (a long
reconcile), the link page and ``buzon status`` still answer at once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from seed import sembrar

from buzon.settings import Settings
from registry.db import get_engine

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def test_page_and_status_answer_beside_a_held_write_lock(settings: Settings, receptor) -> None:
    s = settings.model_copy(update={"now": T0})
    m = sembrar(get_engine(s), s, "EKU9003173C9", correo="ana.perez@empresa.mx")
    base = receptor(s)
    db = str(s.home / "buzon.db")
    writer = sqlite3.connect(db, timeout=0, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE medios SET estado = 'validado'")  # uncommitted: nobody sees it
    try:
        # The lock is real: another writer cannot get it.
        other = sqlite3.connect(db, timeout=0.2, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        t = time.perf_counter()
        page = httpx.get(f"{base}/v/{m.secreto}", timeout=30)
        assert page.status_code == 200 and "Confirmar" in page.text  # the committed snapshot
        assert time.perf_counter() - t < 2
        env = {**os.environ, "BUZON_HOME": str(s.home), "PYTHONPATH": str(ROOT)}
        t = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "buzon", "status", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.perf_counter() - t
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["por_estado"]["enviado"] == 1
        assert took < 15  # process start-up included; a locked read waited 60 s
    finally:
        writer.rollback()
        writer.close()
