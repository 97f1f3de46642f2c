"""Sheets of strings -> entries: one row per contact medium to register, with provenance.

Wide layout: one row per scope, every non-empty email/mobile cell is an entry. Long layout (there is
a mechanism column): one row is one entry. A row with an RFC but no medium at all becomes one entry
without mechanism, so that it is reported (``SIN_MEDIO``) instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from loaders import RawSheet
from schemas.headers import IGNORAR, MECANISMOS, normalize, role

HEADER_SCAN_ROWS = 10

ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "archivo": pl.String(),
    "hoja": pl.String(),
    "fila": pl.Int64(),
    "posicion": pl.Int32(),
    "rfc_valor": pl.String(),
    "rfc_columna": pl.String(),
    "nombre": pl.String(),
    "rp_valor": pl.String(),
    "rp_columna": pl.String(),
    "mecanismo": pl.String(),
    "mecanismo_valor": pl.String(),
    "mecanismo_columna": pl.String(),
    "columna": pl.String(),
    "valor": pl.String(),
}


@dataclass(frozen=True)
class Layout:
    header_index: int  # 0-based row of the header within the sheet frame
    columns: dict[str, list[tuple[str, str]]]  # role -> [(frame column, header text)]
    # Columns nothing reads: unknown headers, and repeats of a one-column role (a second RFC).
    ignored: tuple[tuple[str, str], ...] = ()

    @property
    def long(self) -> bool:
        return "mecanismo" in self.columns


_REPEATABLE = ("correo", "telefono", IGNORAR)


def detect_layout(sheet: RawSheet, manual: Mapping[str, str] | None = None) -> Layout | None:
    """The first row within the first 10 with an RFC column, and what every column holds.

    ``manual`` maps normalized headers to roles (``--columna``); columns mapped to
    :data:`schemas.headers.IGNORAR` are listed under that role, and neither read nor reported.
    """
    frame = sheet.frame
    cells = [c for c in frame.columns if c != "fila"]
    head = frame.head(HEADER_SCAN_ROWS)
    for index, row in enumerate(head.select(cells).iter_rows()):
        roles: dict[str, list[tuple[str, str]]] = {}
        unknown: list[tuple[str, str]] = []
        for column, value in zip(cells, row, strict=True):
            found = role(value, manual)
            if found is None:
                unknown.append((column, "" if value is None else str(value).strip()))
            else:  # IGNORAR columns are kept under their role: known, never read
                roles.setdefault(found, []).append((column, str(value).strip()))
        if "rfc" in roles:
            repeats = [
                pair
                for name, found in roles.items()
                if name not in _REPEATABLE
                for pair in found[1:]
            ]
            return Layout(header_index=index, columns=roles, ignored=tuple(unknown + repeats))
    return None


def _first(layout: Layout, name: str) -> tuple[str | None, str | None]:
    found = layout.columns.get(name)
    return found[0] if found else (None, None)


def extract_entries(sheet: RawSheet, layout: Layout) -> pl.DataFrame:
    """The entries of one sheet, in row then column order."""
    frame = sheet.frame.slice(layout.header_index + 1)
    media = [(c, h, r) for r in ("correo", "telefono") for c, h in layout.columns.get(r, [])]
    rfc_col, rfc_head = _first(layout, "rfc")
    name_col, _ = _first(layout, "nombre")
    rp_col, rp_head = _first(layout, "rp")
    mech_col, mech_head = _first(layout, "mecanismo")
    medio_col, medio_head = _first(layout, "medio")
    position = {c: i for i, c in enumerate(sheet.frame.columns)}

    cells = {
        "rfc_valor": rfc_col,
        "nombre": name_col,
        "rp_valor": rp_col,
        **{f"m{i}": c for i, (c, _, _) in enumerate(media)},
        "mecanismo_valor": mech_col,
        "medio_valor": medio_col,
    }
    present = [name for name, col in cells.items() if col]
    # Trimmed, then blank -> null, then rows with nothing left dropped: three steps, so that
    # each cell is trimmed once (an expression reused inside another is evaluated per use).
    base = frame.select(
        pl.col("fila"),
        *[
            pl.col(col).str.strip_chars().alias(name)
            if col
            else pl.lit(None, dtype=pl.String).alias(name)
            for name, col in cells.items()
        ],
    )
    base = base.with_columns(pl.when(pl.col(n) != "").then(pl.col(n)).alias(n) for n in present)
    base = base.filter(pl.any_horizontal([pl.col(n).is_not_null() for n in present]))
    # What every entry of a row repeats: where it comes from, and its row's cells.
    constants = [
        pl.lit(sheet.archivo, dtype=pl.String).alias("archivo"),
        pl.lit(sheet.hoja, dtype=pl.String).alias("hoja"),
        pl.lit(rfc_head, dtype=pl.String).alias("rfc_columna"),
        pl.lit(rp_head, dtype=pl.String).alias("rp_columna"),
    ]
    cells_of_row = ["fila", "rfc_valor", "nombre", "rp_valor"]
    common = [*constants, *cells_of_row]
    if layout.long:
        # Value from the "Medio" column, else the first filled email/mobile column.
        sources = [("medio_valor", medio_head)] + [
            (f"m{i}", h) for i, (_, h, _) in enumerate(media)
        ]
        valor = pl.coalesce([pl.col(c) for c, _ in sources])
        columna = pl.coalesce(
            [pl.when(pl.col(c).is_not_null()).then(pl.lit(h)) for c, h in sources]
        )
        # Normalize each distinct spelling once, not once per row.
        spellings = base.get_column("mecanismo_valor").drop_nulls().unique().to_list()
        mech_map = {v: MECANISMOS.get(normalize(v)) for v in spellings}
        out = base.select(
            *common,
            pl.lit(position.get(medio_col or "", 0), dtype=pl.Int32).alias("posicion"),
            pl.col("mecanismo_valor")
            .replace_strict(mech_map, default=None, return_dtype=pl.String)
            .alias("mecanismo"),
            pl.col("mecanismo_valor"),
            pl.lit(mech_head, dtype=pl.String).alias("mecanismo_columna"),
            columna.alias("columna"),
            valor.alias("valor"),
        )
        return out.select(list(ENTRY_SCHEMA)).cast(ENTRY_SCHEMA)
    # Each part carries the row's cells, the value and its slot (medium column, or none); what
    # is the same for every entry (file, sheet, headers) is added after the sort as constant
    # columns, which polars keeps as one value instead of a million.
    slot = pl.col("_j")
    kinds = pl.Series([kind for _, _, kind in media] + [None], dtype=pl.String)
    headers = pl.Series([header for _, header, _ in media] + [None], dtype=pl.String)
    positions = [position[column] for column, _, _ in media] + [-1]
    parts = [
        base.filter(pl.col(f"m{i}").is_not_null()).select(
            *cells_of_row, pl.col(f"m{i}").alias("valor"), pl.lit(i, dtype=pl.UInt16).alias("_j")
        )
        for i in range(len(media))
    ]
    media_cols = [f"m{i}" for i in range(len(media))]
    no_media = (
        pl.all_horizontal([pl.col(c).is_null() for c in media_cols]) if media_cols else pl.lit(True)
    )
    parts.append(
        base.filter(no_media).select(
            *cells_of_row,
            pl.lit(None, dtype=pl.String).alias("valor"),
            pl.lit(len(media), dtype=pl.UInt16).alias("_j"),
        )
    )
    out = pl.concat(parts).with_columns(
        pl.lit(pl.Series(positions, dtype=pl.Int32)).gather(slot).alias("posicion")
    )
    # One integer key sorts several times faster than (fila, posicion); columns < 32768.
    out = out.sort(pl.col("fila") * 32768 + pl.col("posicion") + 1)
    out = out.with_columns(
        pl.lit(kinds).gather(slot).alias("mecanismo"),
        pl.lit(headers).gather(slot).alias("columna"),
        *constants,
        pl.lit(None, dtype=pl.String).alias("mecanismo_valor"),
        pl.lit(None, dtype=pl.String).alias("mecanismo_columna"),
    )
    return out.select(list(ENTRY_SCHEMA)).cast(ENTRY_SCHEMA)
