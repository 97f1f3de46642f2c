"""Output hygiene shared by every report: spreadsheet formula injection and file names."""

from __future__ import annotations

import re
import unicodedata

import polars as pl

# Spreadsheets also read the full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20) as the ASCII ones.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralize(column: str) -> pl.Expr:
    """Prefix a quote to text a spreadsheet would run as a formula (=, +, -, @, tab, CR and the
    full-width ＝ ＋ － ＠)."""
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


def rfc_filename(rfc: str) -> str:
    """A file name for an RFC that never collides: ``&`` -> ``y``, ``Ñ`` -> ``n`` (RFC letters
    are upper case, so the lower-case stand-ins cannot meet a real letter).

    >>> rfc_filename('AB&Ñ900101AB1'), rfc_filename('ABYN900101AB1')
    ('AByn900101AB1', 'ABYN900101AB1')
    """
    return safe_filename(rfc.replace("&", "y").replace("Ñ", "n"))


def neutralize_all(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`neutralize` on every text column of ``frame``."""
    return frame.with_columns(neutralize(c) for c, t in frame.schema.items() if t == pl.String)
