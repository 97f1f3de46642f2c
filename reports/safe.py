"""Output hygiene shared by every report: spreadsheet formula injection and file names."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(column: str) -> pl.Expr:
    """Prefix a quote to text a spreadsheet would run as a formula (=, +, -, @, tab, CR)."""
    value = pl.col(column).cast(pl.String)
    risky = pl.any_horizontal([value.str.starts_with(s) for s in FORMULA_START])
    return pl.when(risky.fill_null(False)).then(pl.lit("'") + value).otherwise(value).alias(column)


def safe_filename(text: str) -> str:
    """ASCII file name from an RFC or name: ``&`` -> ``y``, ``Ñ`` -> ``N``, the rest dropped.

    >>> safe_filename('AB&Ñ900101AB1')
    'AByN900101AB1'
    """
    text = text.replace("&", "y")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]", "_", ascii_text) or "_"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
