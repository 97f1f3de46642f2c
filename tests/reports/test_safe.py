"""One neutralizer for every text cell of every CSV the project writes."""

from __future__ import annotations

import doctest
import io
from pathlib import Path

import polars as pl
from click.testing import CliRunner
from openpyxl import Workbook

from buzon.cli import cli
from reports import safe
from reports.safe import FORMULA_START, neutralize_text


def test_doctests() -> None:
    assert doctest.testmod(safe).failed == 0


def test_every_dangerous_start_is_quoted() -> None:
    for start in FORMULA_START:
        assert neutralize_text(start + "1+2") == "'" + start + "1+2"
    assert neutralize_text("rh@empresa.mx") == "rh@empresa.mx"


def test_file_and_sheet_names_are_neutralized_too(tmp_path: Path) -> None:
    upload = tmp_path / "=1+2.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.title = "=3+4"
    sheet.append(["RFC", "Correo", "Celular"])
    sheet.append(["EKU9003173C9", "＝HYPERLINK(1)", "\t+52 1"])
    sheet.append(["＠SUM(1)", "a@b.mx", None])
    sheet.append(["EKU9003173C9", "－2+3@x", "\r=1"])
    book.save(upload)
    out = tmp_path / "salida"
    result = CliRunner().invoke(cli, ["plan", str(upload), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(io.BytesIO((out / "rechazos.csv").read_bytes()[3:]), infer_schema_length=0)
    assert frame.height >= 3
    assert set(frame["archivo"]) == {"'=1+2.xlsx"}
    assert set(frame["hoja"]) == {"'=3+4"}
    for column in frame.columns:
        for value in frame[column].drop_nulls():
            assert not value.startswith(FORMULA_START), (column, value)
