"""The reconcile flow's tasks wrap the pure functions (no Prefect server needed)."""

from __future__ import annotations

import json
from pathlib import Path

from buzon.settings import Settings
from flows.reconcile import check_file_task, reconcile_task


def test_reconcile_tasks(settings: Settings, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BUZON_HOME", str(settings.home))
    path = tmp_path / "e.jsonl"
    line = {"tipo": "entrega", "referencia": 7, "estado": "delivered"}
    line["fecha"] = "2024-08-08T12:00:00Z"
    path.write_text(json.dumps(line) + "\n")
    assert check_file_task.fn(str(path)) == 1
    first = reconcile_task.fn([str(path)])
    assert first["applied"] == 1 and first["rejected"] == {"referencia_desconocida": 1}
    assert reconcile_task.fn([str(path)])["applied"] == 0
