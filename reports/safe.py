"""Output hygiene shared by every report: spreadsheet formula injection and file names."""

from __future__ import annotations

import re
import unicodedata

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
