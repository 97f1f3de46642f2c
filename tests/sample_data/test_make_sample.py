"""The sample generator: its command line writes where it is told, and --help writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from sample_data.make_sample import main


def test_help_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0 and "usage" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_writes_the_named_workbook(tmp_path: Path) -> None:
    out = tmp_path / "carga.xlsx"
    main([str(out)])
    assert out.read_bytes()[:2] == b"PK"  # an xlsx is a zip container
