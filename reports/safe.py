"""Output hygiene shared by every report: spreadsheet formula injection and file names.

Every text cell of every CSV or workbook the project writes goes through this module, whatever
the column (``archivo`` and ``hoja`` come from the user too: an upload named ``=1+2.xlsx``).
A frame: :func:`neutralize_frame` (every text column) or :func:`neutralize` (one column). A
single value (a csv/openpyxl writer): :func:`neutralize_text`. With xlsxwriter (``polars
write_excel``) also pass ``strings_to_formulas=False``: it turns ``=...`` text into formulas.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

# What makes Excel, LibreOffice or Google Sheets evaluate a cell: the ASCII signs, tab and CR,
# and their full-width and small forms (a spreadsheet folds ＝ to = when it parses input).
FORMULA_START = (
    "=", "+", "-", "@", "\t", "\r",
    "\uff1d", "\uff0b", "\uff0d", "\uff20",  # ＝ ＋ － ＠ (full-width)
    "\ufe66", "\ufe62", "\ufe63", "\ufe6b",  # ﹦ ﹢ ﹣ ﹫ (small forms)
)  # fmt: skip


def neutralize_text(value: str | None) -> str | None:
    """``value`` with a quote in front if a spreadsheet would run it as a formula.

    >>> [neutralize_text(v) for v in ["=1+2", "＝1+2", "@SUM(A1)", "\\t=1", "ok", None, ""]]
    ["'=1+2", "'＝1+2", "'@SUM(A1)", "'\\t=1", 'ok', None, '']
    """
    if value and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralize(column: str) -> pl.Expr:
    """Prefix a quote to text a spreadsheet would run as a formula (=, +, -, @, tab, CR and
    their full-width forms), as :func:`neutralize_text` does, for one column of a frame."""
    value = pl.col(column).cast(pl.String)
    risky = pl.any_horizontal([value.str.starts_with(s) for s in FORMULA_START])
    return pl.when(risky.fill_null(False)).then(pl.lit("'") + value).otherwise(value).alias(column)


def neutralize_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of ``frame`` neutralized; other columns untouched.

    >>> neutralize_frame(pl.DataFrame({"hoja": ["=3+4", "Hoja1"], "fila": [1, 2]})).rows()
    [("'=3+4", 1), ('Hoja1', 2)]
    """
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(neutralize(name) for name in text) if text else frame


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
