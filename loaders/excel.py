"""Workbooks (.xlsx, .xlsm, .xls, .ods) through calamine (fastexcel), every cell as a string."""

from __future__ import annotations

from pathlib import Path

import fastexcel
import polars as pl

from buzon.errors import CorruptFileError, EncryptedFileError
from loaders.files import RawSheet

_ENCRYPTION_HINTS = ("password", "encrypt", "protected", "filepass")


def _fail(path: Path, exc: Exception) -> Exception:
    text = str(exc).lower()
    if any(hint in text for hint in _ENCRYPTION_HINTS):
        return EncryptedFileError(
            "el libro está protegido con contraseña; guárdalo sin contraseña", archivo=str(path)
        )
    first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return CorruptFileError(f"no se pudo leer el libro: {first}", archivo=str(path))


def read_workbook(path: Path) -> list[RawSheet]:
    """Every sheet of the workbook, empty ones included (the caller reports them)."""
    try:
        reader = fastexcel.read_excel(path)
        names = list(reader.sheet_names)
    except Exception as exc:  # calamine reports corrupt and encrypted files alike
        raise _fail(path, exc) from None
    sheets: list[RawSheet] = []
    for name in names:
        try:
            # header_row=None + skip_rows=0 keeps leading empty rows, so row i is Excel row i+1.
            sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
            frame = sheet.to_polars()
        except Exception as exc:
            raise _fail(path, exc) from None
        frame = frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)})
        frame = frame.with_columns(
            [pl.col(c).cast(pl.String) for c in frame.columns]
        ).with_row_index("fila", offset=1)
        sheets.append(
            RawSheet(
                archivo=path.name,
                hoja=name,
                frame=frame.with_columns(pl.col("fila").cast(pl.Int64)),
            )
        )
    return sheets
