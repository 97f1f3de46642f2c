"""`buzon schedule` really runs: a local Prefect server, two scheduled reconciles on new work."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"


def _buzon(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "buzon", *args], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout


def _estado(db: Path, outbox_id: int) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (estado,) = conn.execute(
            "SELECT m.estado FROM outbox o JOIN medios m ON m.id = o.medio_id WHERE o.id = ?",
            (outbox_id,),
        ).fetchone()
    return estado


def _wait(cond, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(1)


def _post(api: str, path: str, body: dict) -> list[dict]:
    req = urllib.request.Request(
        f"{api}/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
        return json.load(resp)


def _completed_runs(api: str, deployment: str = "buzon-reconcile") -> int:
    ids = {d["id"] for d in _post(api, "deployments/filter", {}) if d["name"] == deployment}
    runs = _post(
        api, "flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    )
    return sum(1 for r in runs if r["name"] and r.get("deployment_id") in ids)


def _bounce(inbox: Path, name: str, ref: int) -> None:
    tmp = inbox / f".{name}"
    tmp.write_text(f"tipo,referencia,estado,motivo,fecha\nentrega,{ref},rebotado,buzón lleno,"
                   "2026-12-02T10:00:00Z\n", encoding="utf-8")  # fmt: skip
    tmp.rename(inbox / name)  # appears whole, never half-written


@pytest.mark.timeout(600)
def test_schedule_runs_reconcile_twice_on_new_work(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUZON_", "PREFECT_"))}
    env |= {"BUZON_HOME": str(home), "PYTHONPATH": str(ROOT)}
    _buzon(env, "apply", str(SAMPLE))
    _buzon(env, "send")
    sms = [json.loads(line) for line in (home / "spool" / "sms.jsonl").read_text().splitlines()]
    first, second = sms[0]["reference"], sms[1]["reference"]
    db = home / "buzon.db"
    inbox = home / "eventos" / "entrada"
    inbox.mkdir(parents=True)

    log = (tmp_path / "schedule.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "buzon", "schedule", "--cada", "3"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        text = lambda: (tmp_path / "schedule.log").read_text()  # noqa: E731
        _wait(lambda: "Servidor de Prefect: http" in text(), 180, "the local Prefect server")
        api = text().split("Servidor de Prefect: ")[1].split()[0]

        _bounce(inbox, "a.csv", first)
        _wait(lambda: _estado(db, first) == "no_entregado", 240, "the first scheduled reconcile")
        assert _estado(db, second) == "enviado"  # its event has not appeared yet
        # The state is written before the run is marked completed: wait for that too.
        _wait(lambda: _completed_runs(api) >= 1, 120, "the first run to complete")
        runs_after_first = _completed_runs(api)

        _bounce(inbox, "b.csv", second)
        _wait(lambda: _estado(db, second) == "no_entregado", 240, "a later scheduled reconcile")
        _wait(lambda: _completed_runs(api) > runs_after_first, 120, "the later run to complete")
        assert sorted(p.name for p in (inbox / "procesados").rglob("*.csv")) == ["a.csv", "b.csv"]
        assert not list(inbox.glob("*.csv"))
        _wait(lambda: _completed_runs(api, "buzon-recordar") >= 1, 120, "a scheduled reminder run")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert (home / "prefect").is_dir()  # Prefect's state stayed under BUZON_HOME
