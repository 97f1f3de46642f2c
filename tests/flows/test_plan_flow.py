"""The plan flow's tasks give exactly what ``buzon plan`` gives (no Prefect server needed)."""

from __future__ import annotations

import json
from pathlib import Path

from flows.plan import load_task, validate_task, write_task
from schemas.plan import plan_files

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"
CSV = ROOT / "tests" / "data" / "formatos" / "contactos_utf8_coma.csv"


def test_plan_tasks_match_the_command(tmp_path: Path) -> None:
    files = [load_task.fn(str(p), 10 * 2**20) for p in (SAMPLE, CSV)]
    assert [f.archivo for f in files] == ["carga_corporativo.xlsx", "contactos_utf8_coma.csv"]
    result = validate_task.fn(files, False)
    assert result.summary == plan_files([SAMPLE, CSV]).summary
    written = write_task.fn(result, str(tmp_path / "out"))
    assert sorted(Path(p).name for p in written) == [
        "aceptados.parquet",
        "advertencias.csv",
        "rechazos.csv",
        "resumen.json",
    ]
    assert json.loads((tmp_path / "out" / "resumen.json").read_text()) == result.summary


def test_plan_flow_runs(prefect_harness: None, tmp_path: Path) -> None:
    from flows.plan import plan_flow

    summary = plan_flow([str(SAMPLE), str(CSV)], out=str(tmp_path / "out"))
    assert summary == plan_files([SAMPLE, CSV]).summary
    assert (tmp_path / "out" / "rechazos.csv").exists()
