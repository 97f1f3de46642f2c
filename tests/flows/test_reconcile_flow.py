"""The reconcile flow: one task reads each file once and reconciles; one real flow run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buzon.errors import EventFileError
from buzon.settings import Settings
from flows.reconcile import reconcile_task
from registry.db import get_engine


def _events(tmp_path: Path) -> Path:
    path = tmp_path / "e.jsonl"
    line = {"tipo": "entrega", "referencia": 7, "estado": "delivered"}
    line["fecha"] = "2024-08-08T12:00:00Z"
    path.write_text(json.dumps(line) + "\n")
    return path


def test_reconcile_task(settings: Settings, tmp_path: Path) -> None:
    path, engine = _events(tmp_path), get_engine(settings)
    first = reconcile_task.fn(settings, engine, [str(path)]).as_json()
    assert first["events"] == 1 and first["applied"] == 1
    assert first["rejected"] == {"referencia_desconocida": 1}
    again = reconcile_task.fn(settings, engine, [str(path)]).as_json()
    assert (again["applied"], again["duplicates"]) == (0, 1)


def test_reconcile_task_refuses_a_bad_file(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "malo.jsonl"
    bad.write_text('{"tipo": "entrega"\n')
    with pytest.raises(EventFileError):
        reconcile_task.fn(settings, get_engine(settings), [str(_events(tmp_path)), str(bad)])
    # Nothing of the good file was recorded either: the files are checked before any write.
    again = reconcile_task.fn(settings, get_engine(settings), [str(_events(tmp_path))]).as_json()
    assert again["applied"] == 1


def test_reconcile_flow_runs(
    prefect_harness: None, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.reconcile import reconcile_flow

    monkeypatch.setenv("BUZON_HOME", str(settings.home))
    out = reconcile_flow([str(_events(tmp_path))])
    assert out["events"] == 1 and out["rejected"] == {"referencia_desconocida": 1}
