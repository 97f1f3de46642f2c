"""Every supported format and text encoding gives the same entries; unusable files fail cleanly.

The files live in tests/data/ (made by tests/data/make_data.py) and are globbed here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from buzon.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    FileMissingError,
    FileTooLargeError,
    InputError,
    NoHeaderError,
    UnsupportedFileError,
)
from loaders import read_upload
from loaders.text import decode, sniff_delimiter
from schemas.plan import load_file, plan_entries

DATA = Path(__file__).resolve().parent.parent / "data"
sys.path.insert(0, str(DATA))
from make_data import EXPECTED, HEADER  # noqa: E402

FORMATS = sorted((DATA / "formatos").iterdir())


def test_every_format_is_present() -> None:
    suffixes = {p.suffix for p in FORMATS}
    assert suffixes == {".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"}


@pytest.mark.parametrize("path", FORMATS, ids=lambda p: p.name)
def test_same_entries_from_every_format(path: Path) -> None:
    files = [load_file(path)]
    result = plan_entries(files)
    got = result.entries.select("fila", "columna", "rfc", "medio", "codigo").rows()
    assert got == EXPECTED
    # Accents survive every encoding; the name column is read as given.
    assert "Eduardo González Díaz" in result.entries["nombre"].to_list()
    workbook = path.suffix not in {".csv", ".txt"}
    assert result.entries["hoja"].unique().to_list() == (["Medios"] if workbook else [None])
    # Workbooks carry an instructions sheet without header: reported, not silently ignored.
    assert result.summary["sheets_skipped"] == (
        [{"archivo": path.name, "hoja": "Instrucciones"}] if workbook else []
    )


@pytest.mark.parametrize("path", FORMATS, ids=lambda p: p.name)
def test_cells_are_strings_with_excel_rows(path: Path) -> None:
    sheets = [s for s in read_upload(path) if s.hoja in (None, "Medios")]
    frame = sheets[0].frame
    assert frame["fila"].to_list()[:4] == [1, 2, 3, 4]
    cells = [c for c in frame.columns if c != "fila"]
    assert all(frame.schema[c] == pl.String for c in cells)
    assert list(frame.select(cells).row(2)) == HEADER
    # The numeric mobile cell comes back as digits, not as a float or a null.
    assert frame.select(cells).row(3)[-1] in {"5512345678", "5512345678.0"}


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2;3\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("Título\na;b;c\n1;2;3\n", ";"),
        ('Nombre;Correo\n"Peña, S.A.";a@b.mx\n', ";"),
    ],
)
def test_sniff_delimiter(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Peña".encode(), "Peña"),
        (b"\xef\xbb\xbfPe\xc3\xb1a", "Peña"),
        ("Peña".encode("cp1252"), "Peña"),
        ("Peña".encode("utf-16"), "Peña"),
    ],
)
def test_decode(raw: bytes, text: str) -> None:
    assert decode(raw, archivo="x.csv") == text


BAD = {
    "danado.xlsx": (CorruptFileError, "no es un libro .xlsx válido"),
    "truncado.xlsx": (CorruptFileError, "no es un libro .xlsx válido"),
    "vacio.csv": (EmptyFileError, "el archivo está vacío"),
    "binario.csv": (CorruptFileError, "el archivo parece binario"),
    "no_es_xls.xls": (CorruptFileError, "no es un libro .xls válido"),
    "carga.pdf": (UnsupportedFileError, "tipo de archivo no soportado (.pdf)"),
    "cifrado.xlsx": (EncryptedFileError, "protegido con contraseña"),
    "sin_encabezado.xlsx": (NoHeaderError, "ninguna hoja tiene una fila de encabezados"),
}


def test_every_bad_file_is_covered() -> None:
    assert {p.name for p in (DATA / "malos").iterdir()} == set(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files(name: str) -> None:
    error, message = BAD[name]
    with pytest.raises(error) as caught:
        load_file(DATA / "malos" / name)
    assert message in caught.value.one_line()
    assert name in caught.value.one_line()
    assert "\n" not in caught.value.one_line()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileMissingError, match="no existe"):
        load_file(tmp_path / "no-existe.xlsx")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "carpeta.csv"
    folder.mkdir()
    with pytest.raises(UnsupportedFileError):
        load_file(folder)


def test_size_limit() -> None:
    path = DATA / "formatos" / "contactos.xlsx"
    with pytest.raises(FileTooLargeError, match="BUZON_MAX_FILE_BYTES"):
        load_file(path, max_bytes=100)
    assert load_file(path, max_bytes=path.stat().st_size).entries.height == len(EXPECTED)


def test_blank_csv_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blancos.csv"
    path.write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(EmptyFileError):
        load_file(path)


def test_all_input_errors_exit_2() -> None:
    for error, _ in BAD.values():
        assert issubclass(error, InputError)
        assert error.exit_code == 2
