"""Workbooks (.xlsx, .xlsm, .xls, .ods) through calamine (fastexcel), every cell as a string."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from buzon.errors import CorruptFileError, EncryptedFileError
from loaders.early import parse, take
from loaders.guard import Limits, check_workbook
from loaders.sparse import read_sparse
from loaders.types import RawSheet

_ENCRYPTION_HINTS = ("password", "encrypt", "protected", "filepass")


def _fail(path: Path, exc: Exception) -> Exception:
    text = str(exc).lower()
    if any(hint in text for hint in _ENCRYPTION_HINTS):
        return EncryptedFileError(
            "el libro está protegido con contraseña; guárdalo sin contraseña", archivo=str(path)
        )
    first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return CorruptFileError(f"no se pudo leer el libro: {first}", archivo=str(path))


def read_workbook(path: Path, limits: Limits | None = None) -> list[RawSheet]:
    """Every sheet of the workbook, empty ones included (the caller reports them).

    :func:`loaders.guard.check_workbook` runs first: a workbook over the limits is refused
    before calamine sees it, and a sheet with few cells over a huge range is read by
    :func:`loaders.sparse.read_sparse` instead.
    """
    limits = limits or Limits()
    check = check_workbook(path, limits)
    # Parsed in the background since the program started, when it could be (loaders.early).
    early = take(path) if check.calamine_safe else None
    book = early or parse(path, skip=frozenset(check.sparse))
    if book.open_error is not None:
        raise _fail(path, book.open_error) from None
    sheets: list[RawSheet] = []
    for name, sheet in zip(book.names or [], book.sheets or [], strict=False):
        if name in check.sparse:
            sheets.append(read_sparse(path, name, check.sparse[name], max_cells=limits.max_cells))
            continue
        try:
            if isinstance(sheet, Exception):
                raise sheet
            # header_row=None + skip_rows=0 keep leading empty rows: row i is Excel row i+1.
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
