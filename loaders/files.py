"""Open an upload by its real type and read every sheet as strings."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from buzon.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    FileMissingError,
    FileTooLargeError,
    UnsupportedFileError,
)
from loaders.types import EXCEL_EXTENSIONS, TEXT_EXTENSIONS, RawSheet

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"

if TYPE_CHECKING:
    from loaders.guard import Limits


def _check_file(path: Path, max_bytes: int) -> bytes:
    if not path.exists():
        raise FileMissingError("el archivo no existe", archivo=str(path))
    if not path.is_file():
        what = "es una carpeta" if path.is_dir() else "no es un archivo regular"
        raise UnsupportedFileError(f"{what}, no un archivo de carga", archivo=str(path))
    size = path.stat().st_size
    if size == 0:
        raise EmptyFileError("el archivo está vacío", archivo=str(path))
    if size > max_bytes:
        raise FileTooLargeError(
            f"el archivo pesa {size / 2**20:.0f} MiB; el máximo es {max_bytes / 2**20:.0f} MiB "
            "(BUZON_MAX_FILE_BYTES); divídelo en varios",
            archivo=str(path),
        )
    with path.open("rb") as fh:
        return fh.read(8)


def read_upload(
    path: str | Path, *, max_bytes: int = 200 * 2**20, limits: Limits | None = None
) -> list[RawSheet]:
    """Read every sheet of ``path``. Raises an :class:`~buzon.errors.InputError` if unusable.

    ``limits`` bound a workbook's cells and unzipped size (:mod:`loaders.guard`)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in EXCEL_EXTENSIONS | TEXT_EXTENSIONS:
        raise UnsupportedFileError(
            f"tipo de archivo no soportado ({ext or 'sin extensión'}); usa .xlsx, .xlsm, .xls, "
            ".ods, .csv o .txt",
            archivo=str(path),
        )
    head = _check_file(path, max_bytes)
    if ext in TEXT_EXTENSIONS:
        from loaders.text import read_text

        return [read_text(path)]
    if ext in {".xlsx", ".xlsm", ".ods"}:
        if head.startswith(OLE2_MAGIC):
            # Office wraps a password-protected OOXML workbook in an OLE2 container.
            raise EncryptedFileError(
                "el libro está protegido con contraseña; guárdalo sin contraseña", archivo=str(path)
            )
        if not head.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(path):
            raise CorruptFileError(
                f"el archivo no es un libro {ext} válido (¿dañado o con otra extensión?)",
                archivo=str(path),
            )
    elif not head.startswith(OLE2_MAGIC):
        raise CorruptFileError(
            "el archivo no es un libro .xls válido (¿dañado o con otra extensión?)",
            archivo=str(path),
        )
    from loaders.excel import read_workbook

    return read_workbook(path, limits)
