"""The apply flow's tasks equal ``buzon apply``; one real flow run through the session harness."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_helpers import SAMPLE, take_rp

from buzon.settings import Settings
from flows.apply import apply_chunk_task, plan_task
from flows.merge import merge
from registry.apply import ApplyResult, chunks
from registry.db import get_engine
from signers.seal import Sello


@pytest.fixture
def env_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    monkeypatch.setenv("BUZON_HOME", str(home))
    monkeypatch.setenv("BUZON_CHUNK_SIZE", "200")
    return home


def _run_chunks(settings: Settings, accepted, sync: bool = False) -> ApplyResult:  # noqa: ANN001
    engine, sello = get_engine(settings), Sello.load(settings)
    parts = [
        apply_chunk_task.fn(settings, engine, sello, c, sync=sync, now=settings.clock())
        for c in chunks(accepted, settings.chunk_size)
    ]
    assert all(isinstance(p, ApplyResult) for p in parts)
    return merge(ApplyResult(), parts)


def test_apply_tasks_register_then_change_nothing(env_home: Path) -> None:
    settings = Settings()
    plan = plan_task.fn(settings, get_engine(settings), [str(SAMPLE)])
    summary = plan.summary
    assert summary["accepted"] == plan.accepted.height > 0
    first = _run_chunks(settings, plan.accepted)
    assert first.chunks > 1
    assert first.registered == summary["media"]["correo"] + summary["media"]["telefono"]
    assert first.rp_ajeno == 0
    again = _run_chunks(settings, plan.accepted)
    assert again.registered + again.updated == 0
    assert again.unchanged == first.registered


def test_apply_tasks_count_rp_of_another_rfc(env_home: Path) -> None:
    settings = Settings()
    plan = plan_task.fn(settings, get_engine(settings), [str(SAMPLE)])
    skipped = take_rp(settings, plan.accepted)  # registered after the plan saw them free
    assert skipped > 0
    result = _run_chunks(settings, plan.accepted)
    assert result.rp_ajeno == skipped
    assert result.as_dict()["rp_ajeno"] == skipped


def test_apply_flow_runs(prefect_harness: None, env_home: Path) -> None:
    from flows.apply import apply_flow

    result = apply_flow([str(SAMPLE)])
    assert result["registered"] > 0 and result["acuses"]["registro"] == result["registered"]
    assert result["rp_ajeno"] == 0
    again = apply_flow([str(SAMPLE)])
    assert again["registered"] == 0 and again["unchanged"] == result["registered"]
