"""The send flow: one task runs the dispatcher (chunked inside); one real flow run."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_helpers import SAMPLE

from buzon.settings import Settings
from flows.send import send_task
from registry.apply import apply_entries
from registry.db import get_engine
from schemas.plan import plan_files


def _queue(settings: Settings) -> int:
    accepted = plan_files([SAMPLE], settings).accepted
    return apply_entries(get_engine(settings), settings, accepted, now=settings.clock()).registered


def test_send_task_sends_up_to_the_limit(settings: Settings) -> None:
    settings = settings.model_copy(update={"chunk_size": 3})
    queued = _queue(settings)
    stats = send_task.fn(settings, get_engine(settings), 5)
    assert (stats.sent, stats.processed, stats.pending) == (5, 5, queued - 5)
    rest = send_task.fn(settings, get_engine(settings), None)
    assert (rest.sent, rest.pending) == (queued - 5, 0)


def test_send_flow_runs(
    prefect_harness: None, settings: Settings, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    from flows.send import send_flow

    monkeypatch.setenv("BUZON_HOME", str(home))
    monkeypatch.setenv("BUZON_CHUNK_SIZE", "4")
    queued = _queue(settings)
    assert send_flow() == {"sent": queued, "retried": 0, "failed": 0, "pending": 0}
    assert send_flow()["sent"] == 0
