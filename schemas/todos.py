"""«Seleccionar todos los Registros Patronales» in an upload: an RP cell ``TODOS``.

``TODOS`` (any case, with or without accents) ties the row's media to every RP of that RFC known
in the upload and in the registry. Each such entry becomes one entry per RP, in the same place
of the file order, so the limits and rejections are exactly those of listing every RP by hand,
and the acuse lists them. An RFC with no known RP gets the rejection ``RP_TODOS_SIN_RP``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from schemas.normalize import rfc_compact, rp_compact, rp_format_ok

TODOS = "TODOS"  # the canonical spelling kept on entries that expand to nothing
_PATTERN = r"(?i)^\s*t[oóòöô]d[oóòöô]s\s*$"

RpsLoader = Callable[[list[str]], pl.DataFrame]  # (rfcs) -> {rfc, rp} from the registry


def is_todos(column: str = "rp_valor") -> pl.Expr:
    """Whether the cell says TODOS.

    >>> pl.DataFrame({"rp_valor": ["Todos", " TÓDOS ", "todo", None]}).select(is_todos())[
    ...     "rp_valor"].to_list()
    [True, True, False, False]
    """
    return pl.col(column).str.contains(_PATTERN).fill_null(False)


def expand_todos(entries: pl.DataFrame, registry_rps: RpsLoader | None = None) -> pl.DataFrame:
    """``entries`` (with ``orden``) with every TODOS entry replaced by one entry per known RP.

    The RPs of an RFC are those written under it elsewhere in the upload (well-formed ones)
    plus, when ``registry_rps`` is given, those the registry holds; sorted. ``orden`` is
    renumbered so the expanded entries keep the place of the cell they come from.
    """
    if entries.is_empty() or not entries.select(is_todos().any()).item():
        return entries
    columns = entries.columns
    e = entries.with_columns(rfc_compact("rfc_valor").alias("_rfc"), is_todos().alias("_todos"))
    listed = (
        e.filter(~pl.col("_todos") & pl.col("rp_valor").is_not_null())
        .select("_rfc", rp_compact("rp_valor").alias("rp"))
        .filter(rp_format_ok("rp"))
    )
    parts = [listed]
    if registry_rps is not None:
        wanted = e.filter(pl.col("_todos"))["_rfc"].drop_nulls().unique().sort().to_list()
        parts.append(registry_rps(wanted).select(pl.col("rfc").alias("_rfc"), "rp"))
    known = pl.concat(parts).unique().group_by("_rfc").agg(pl.col("rp").sort().alias("_rps"))
    todos = e.filter(pl.col("_todos")).join(known, on="_rfc", how="left", maintain_order="left")
    expanded = (
        todos.filter(pl.col("_rps").is_not_null())
        .explode("_rps")
        .with_columns(pl.col("_rps").alias("rp_valor"))
    )
    empty = todos.filter(pl.col("_rps").is_null()).with_columns(pl.lit(TODOS).alias("rp_valor"))
    rest = e.filter(~pl.col("_todos"))
    out = pl.concat(
        [p.select(columns) for p in (rest, expanded, empty)], how="vertical_relaxed"
    ).sort("orden", maintain_order=True)
    return out.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("orden"))
