"""The apply flow's tasks equal ``buzon apply``; one real flow run through the session harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.apply import apply_chunk_task, plan_task
from registry.apply import chunks

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"


@pytest.fixture
def env_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    monkeypatch.setenv("BUZON_HOME", str(home))
    monkeypatch.setenv("BUZON_CHUNK_SIZE", "200")
    return home


def test_apply_tasks_register_then_change_nothing(env_home: Path) -> None:
    summary, accepted = plan_task.fn([str(SAMPLE)])
    assert summary["accepted"] == accepted.height > 0
    parts = list(chunks(accepted, 200))
    first = [apply_chunk_task.fn(c, False) for c in parts]
    registered = sum(r.registered for r in first)
    assert registered == summary["media"]["correo"] + summary["media"]["telefono"]
    again = [apply_chunk_task.fn(c, False) for c in parts]
    assert sum(r.registered + r.updated for r in again) == 0
    assert sum(r.unchanged for r in again) == registered


def test_apply_flow_runs(prefect_harness: None, env_home: Path) -> None:
    from flows.apply import apply_flow

    result = apply_flow([str(SAMPLE)])
    assert result["registered"] > 0 and result["acuses"]["registro"] == result["registered"]
    assert apply_flow([str(SAMPLE)])["registered"] == 0
