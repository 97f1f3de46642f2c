"""Hostile workbooks: refused by name or read cell by cell, in bounded memory, before calamine."""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from buzon.errors import CorruptFileError, FileTooLargeError
from loaders import early, guard, read_upload
from loaders.guard import Limits, check_workbook
from loaders.sparse import read_sparse
from tests.loaders.conftest import ENTRY, HEADER, cell

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
BUZON = Path(sys.executable).parent / "buzon"
MAX_RSS_KB = 300 * 1024


def test_guard_doctests() -> None:
    assert doctest.testmod(guard).failed == 0


# Runs ``buzon`` as its child and writes that child's peak RSS (KiB) to argv[1].
MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_plan(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str, int]:
    """``buzon plan`` in a real process: exit code, stdout, stderr and its peak RSS in KiB.

    A small Python process starts ``buzon`` and measures it: a child of the test process itself
    would count pytest's resident pages (inherited at fork, or at exec after a vfork) as its own.
    """
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "rss"
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(peak), str(BUZON), "plan", *map(str, args)],
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return done.returncode, done.stdout, done.stderr, int(peak.read_text())


@pytest.mark.parametrize("bomb", ["far_corner", "tall_column"])
def test_a_huge_range_with_few_cells_is_read_cell_by_cell(
    bomb: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(bomb)
    assert path.stat().st_size < 4096  # tiny on disk
    code, out, err, rss = run_plan(path, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["entries"], summary["accepted"]) == (1, 1)
    assert rss <= MAX_RSS_KB, f"peak RSS {rss / 1024:.0f} MiB"


def test_a_dense_million_row_sheet_is_refused_by_name(dense_sheet: Path, tmp_path: Path) -> None:
    assert dense_sheet.stat().st_size < 4 * 2**20
    out = tmp_path / "salida"
    code, stdout, err, rss = run_plan(dense_sheet, "--out", out, "--json")
    assert code == 2
    assert stdout == ""
    assert err.count("\n") == 1
    assert err.startswith("error: densa.xlsx:Hoja1: la hoja declara 20,971,520 celdas")
    assert "BUZON_MAX_CELLS" in err
    assert not out.exists()  # nothing written
    assert rss <= MAX_RSS_KB, f"peak RSS {rss / 1024:.0f} MiB"


def test_a_false_small_dimension_does_not_fool_the_check(make_xlsx: Callable[..., Path]) -> None:
    far = '<row r="1048576">' + cell("XFD1048576", "x") + "</row>"
    path = make_xlsx("miente.xlsx", [HEADER, ENTRY, far], dimension="A1:B2")
    assert check_workbook(path).sparse == {"Hoja1": "xl/worksheets/sheet1.xml"}
    (sheet,) = read_upload(path)
    assert sheet.frame["fila"].to_list() == [1, 2, 1048576]
    assert sheet.frame.width == 1 + 16384
    assert sheet.frame.row(1)[:3] == (2, "EKU9003173C9", "rh@empresa.mx")
    assert sheet.frame.row(2)[-1] == "x"


def test_a_sheet_without_dimension_and_far_cells_is_checked(
    make_xlsx: Callable[..., Path],
) -> None:
    far = '<row r="400000">' + cell("CV400000", "x") + "</row>"
    path = make_xlsx("sin_dimension.xlsx", [HEADER, ENTRY, far], dimension=None)
    assert check_workbook(path, Limits(max_cells=1_000_000)).sparse == {
        "Hoja1": "xl/worksheets/sheet1.xml"
    }


def test_the_cell_limit_is_configurable(make_xlsx: Callable[..., Path]) -> None:
    path = make_xlsx("carga.xlsx", [HEADER, ENTRY], dimension="A1:B2", sheet_name="Datos")
    assert check_workbook(path, Limits(max_cells=4)).calamine_safe
    with pytest.raises(FileTooLargeError) as caught:
        read_upload(path, limits=Limits(max_cells=3))
    assert caught.value.one_line().startswith("carga.xlsx:Datos: la hoja declara 4 celdas")
    code, _, err, _ = run_plan(path, env={"BUZON_MAX_CELLS": "3"})
    assert code == 2 and "carga.xlsx:Datos:" in err and err.count("\n") == 1


def test_the_unzipped_size_limit(tmp_path: Path) -> None:
    path = DATA / "formatos" / "contactos.xlsx"
    with pytest.raises(FileTooLargeError, match="BUZON_MAX_UNZIPPED_BYTES"):
        read_upload(path, limits=Limits(max_unzipped_bytes=1000))
    ods = DATA / "formatos" / "contactos.ods"
    with pytest.raises(FileTooLargeError, match="descomprimido"):
        read_upload(ods, limits=Limits(max_unzipped_bytes=1000))
    code, _, err, _ = run_plan(path, env={"BUZON_MAX_UNZIPPED_BYTES": "1000"})
    assert code == 2 and err.startswith("error: contactos.xlsx: el libro descomprimido ocupa")


def test_the_fallback_reads_what_calamine_reads() -> None:
    path = DATA / "formatos" / "contactos.xlsx"
    ordinary = read_upload(path)[0]
    with zipfile.ZipFile(path) as book:
        members = dict(guard._sheet_members(path, book))
    sparse = read_sparse(path, ordinary.hoja or "", members[ordinary.hoja], max_cells=10**6)
    cells = [c for c in ordinary.frame.columns if c != "fila"]
    filled = ordinary.frame.filter(pl.any_horizontal(pl.col(cells).is_not_null()))
    assert sparse.frame.select(filled.columns).rows() == filled.rows()


def test_a_document_renamed_xlsx_is_not_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "contrato.xlsx"
    with zipfile.ZipFile(path, "w") as doc:
        doc.writestr("[Content_Types].xml", "<Types/>")
        doc.writestr("word/document.xml", "<w:document xmlns:w='urn:x'/>")
    with pytest.raises(CorruptFileError, match="no es una hoja de cálculo"):
        read_upload(path)
    code, _, err, _ = run_plan(path)
    assert code == 2
    assert err == (
        "error: contrato.xlsx: no es una hoja de cálculo: el archivo .xlsx no contiene un libro "
        "de Excel (¿es otro documento con la extensión cambiada?)\n"
    )


def test_the_early_parse_leaves_hostile_books_to_the_checked_read(far_corner: Path) -> None:
    early.read_early([far_corner])
    assert early.take(far_corner) is None  # calamine never saw it
    (sheet,) = read_upload(far_corner)
    assert sheet.frame["fila"].to_list() == [1, 2, 1048576]


def test_an_ods_with_huge_repeats_is_refused_by_name(repeated_ods: Path) -> None:
    assert repeated_ods.stat().st_size < 2048
    code, out, err, rss = run_plan(repeated_ods, "--json")
    assert (code, out) == (2, "")
    assert err == (
        "error: repetida.ods:Hoja1: la hoja abarca más de 20,000,000 celdas una vez expandidas "
        "sus filas y columnas repetidas, el máximo (BUZON_MAX_CELLS); divídela en varias\n"
    )
    assert rss <= MAX_RSS_KB, f"peak RSS {rss / 1024:.0f} MiB"
    # The rectangle is 1,000,001 rows x 100 columns: the empty padding rows (1,024 cells wide)
    # after the last value do not count, as calamine does not materialize them.
    check_workbook(repeated_ods, Limits(max_cells=1_000_001 * 100))
    with pytest.raises(FileTooLargeError):
        check_workbook(repeated_ods, Limits(max_cells=1_000_001 * 100 - 1))


def test_cells_without_references_are_bounded_by_the_widest_row(
    make_xlsx: Callable[..., Path],
) -> None:
    # Some writers leave out ``r``: each row and cell follows the previous one.
    rows = [HEADER, *("<row>" + "<c><v>1</v></c>" * 3 + "</row>" for _ in range(30_000))]
    path = make_xlsx("sin_referencias.xlsx", rows, dimension=None)
    assert check_workbook(path, Limits(max_cells=200_000)).calamine_safe  # 30,001 x 5 at most
    with pytest.raises(FileTooLargeError):
        check_workbook(path, Limits(max_cells=50_000))
