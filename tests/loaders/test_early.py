"""Workbooks parsed in the background (loaders.early) read exactly as the ordinary way."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from buzon.errors import CorruptFileError, EncryptedFileError, FileTooLargeError
from loaders import early, read_upload
from schemas.plan import load_file

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
WORKBOOKS = sorted(p for p in (DATA / "formatos").iterdir() if p.suffix in early.EXCEL_EXTENSIONS)


def _frames(path: Path) -> list[tuple[str | None, list[tuple]]]:
    return [(sheet.hoja, sheet.frame.rows()) for sheet in read_upload(path)]


@pytest.mark.parametrize("path", WORKBOOKS, ids=lambda p: p.name)
def test_early_parse_reads_the_same(path: Path) -> None:
    ordinary = _frames(path)
    early.read_early([path])
    assert _frames(path) == ordinary
    assert early.take(path) is None  # taken once


def test_parse_is_taken_in_argument_order(tmp_path: Path) -> None:
    a = DATA / "formatos" / "contactos.xlsx"
    b = shutil.copy(DATA / "malos" / "sin_encabezado.xlsx", tmp_path / "b.xlsx")
    early.read_early([a, Path(b), a, tmp_path / "falta.xlsx", DATA / "formatos" / "contactos.ods"])
    first, second = early.take(a), early.take(a)
    assert first is not None and second is not None and first is not second
    assert early.take(a) is None
    assert early.take(Path(b)) is not None
    assert early.take(tmp_path / "falta.xlsx") is None
    early.read_early([])  # drops what nobody took
    assert early.take(DATA / "formatos" / "contactos.ods") is None


def test_a_file_changed_after_the_parse_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "carga.xlsx"
    shutil.copy(DATA / "malos" / "sin_encabezado.xlsx", path)
    early.read_early([path])
    shutil.copy(DATA / "formatos" / "contactos.xlsx", path)  # while (or after) it is parsed
    assert _frames(path) == _frames(DATA / "formatos" / "contactos.xlsx")


@pytest.mark.parametrize(
    ("name", "error"),
    [("danado.xlsx", CorruptFileError), ("truncado.xlsx", CorruptFileError)],
)
def test_parse_errors_are_replayed(name: str, error: type[Exception]) -> None:
    path = DATA / "malos" / name
    with pytest.raises(error) as ordinary:
        load_file(path)
    early.read_early([path])
    with pytest.raises(error) as replayed:
        load_file(path)
    assert replayed.value.one_line() == ordinary.value.one_line()


def test_file_checks_still_come_first() -> None:
    path = DATA / "malos" / "cifrado.xlsx"
    early.read_early([path])
    with pytest.raises(EncryptedFileError):
        load_file(path)
    big = DATA / "formatos" / "contactos.xlsx"
    early.read_early([big])
    with pytest.raises(FileTooLargeError):
        load_file(big, max_bytes=100)


def test_starting_needs_neither_polars_nor_fastexcel() -> None:
    # The point of starting early: the heavy imports come after, beside the parse.
    code = "import sys, loaders.early; print(sorted({'polars', 'fastexcel'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
