"""What the readers share: the sheet type and the file kinds (no reader imports another's module
for them, so ``loaders`` has no import cycle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars is imported by the readers: loaders.early must start without it
    import polars as pl

EXCEL_EXTENSIONS = {".xlsx", ".xlsm", ".xls", ".ods"}
TEXT_EXTENSIONS = {".csv", ".txt"}


@dataclass(frozen=True)
class RawSheet:
    """One sheet (or a CSV file) as strings: columns ``c0..cN`` and ``fila`` (1-based Excel row)."""

    archivo: str
    hoja: str | None
    frame: pl.DataFrame
