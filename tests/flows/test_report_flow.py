"""The report flow: the same files and ``--json`` object as ``buzon report`` (one real flow run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "reports"))
from reports_helpers import A, B, construir  # noqa: E402

from buzon.settings import Settings  # noqa: E402
from reports.verify import verify_paths  # noqa: E402


def test_report_flow_matches_the_command(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.report import report_flow

    home = tmp_path / "home"
    home.mkdir()
    reg = construir(Settings(home=home), tmp_path)
    for k, v in reg.env.items():
        monkeypatch.setenv(k, v)
    data = report_flow(str(tmp_path / "flujo"), rfcs=[A, B])
    cli = json.loads(
        reg.run("report", "--rfc", A, "--rfc", B, "--out", str(tmp_path / "cli"), "--json").output
    )
    names = sorted(Path(f).name for f in data["files"])
    assert names == sorted(Path(f).name for f in cli["files"])
    assert {k: v for k, v in data.items() if k != "files"} == {
        k: v for k, v in cli.items() if k != "files"
    }
    zips = [Path(f) for f in data["files"] if f.endswith(".zip")]
    assert len(zips) == 2 and verify_paths(zips)["ok"]
    for z in zips:
        assert z.read_bytes() == (tmp_path / "cli" / "acuses" / z.name).read_bytes()
