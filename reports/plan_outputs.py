"""Files written by ``buzon plan --out DIR``: rejections, warnings, accepted entries, summary."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from buzon.files import atomic_write
from reports.safe import neutralize_frame
from schemas.plan import PlanResult

CSV_COLUMNS = ["archivo", "hoja", "fila", "columna", "valor", "codigo", "mensaje"]
# rechazos.csv also says whose entry it was (normalized when valid, else as written).
REJECTION_COLUMNS = [
    "archivo",
    "hoja",
    "fila",
    "columna",
    "rfc",
    "registro_patronal",
    "valor",
    "codigo",
    "mensaje",
]
MAX_VALOR = 200  # characters of a cell a report repeats; longer ones end in "…"


def rejection_rows(result: PlanResult) -> pl.DataFrame:
    """One row per rejected entry, pointing at the failing cell (RFC, RP, mechanism or medium)."""
    rej = result.rejected
    on_rfc = pl.col("codigo") == "RFC_INVALIDO"
    on_rp = pl.col("codigo").is_in(["RP_INVALIDO", "RP_TODOS_SIN_RP", "RP_DIGITO", "RP_OTRO_RFC"])
    on_mech = pl.col("codigo") == "MECANISMO_INVALIDO"
    return rej.select(
        "archivo",
        "hoja",
        "fila",
        pl.when(on_rfc)
        .then("rfc_columna")
        .when(on_rp)
        .then("rp_columna")
        .when(on_mech)
        .then("mecanismo_columna")
        .otherwise("columna")
        .alias("columna"),
        pl.coalesce("rfc", "rfc_valor").alias("rfc"),
        pl.coalesce("rp", "rp_valor").alias("registro_patronal"),
        pl.when(on_rfc)
        .then("rfc_valor")
        .when(on_rp)
        .then("rp_valor")
        .when(on_mech)
        .then("mecanismo_valor")
        .otherwise("valor")
        .alias("valor"),
        "codigo",
        "mensaje",
    )


def _cut(column: str) -> pl.Expr:
    """A cell of at most :data:`MAX_VALOR` characters: a longer one keeps its first 199 and "…".

    >>> pl.DataFrame({"v": ["x" * 300, "y"]}).select(_cut("v").str.len_chars())["v"].to_list()
    [200, 1]
    """
    value = pl.col(column)
    return (
        pl.when(value.str.len_chars() > MAX_VALOR)
        .then(value.str.slice(0, MAX_VALOR - 1) + "…")
        .otherwise(value)
        .alias(column)
    )


def _csv_bytes(frame: pl.DataFrame, columns: list[str] = CSV_COLUMNS) -> bytes:
    # Every text cell, archivo and hoja included: they come from the user's file too.
    safe = neutralize_frame(frame.select(columns).with_columns(_cut("valor"))).with_columns(
        pl.col("hoja").fill_null("")
    )
    buffer = io.BytesIO()
    safe.write_csv(buffer)
    return b"\xef\xbb\xbf" + buffer.getvalue()  # BOM: Excel then shows the accents right


def write_plan_outputs(result: PlanResult, out: Path) -> list[Path]:
    """Write the four files; each appears whole or not at all."""
    out.mkdir(parents=True, exist_ok=True)
    parquet = io.BytesIO()
    result.accepted.select(
        "orden",
        "archivo",
        "hoja",
        "fila",
        "columna",
        "rfc",
        "nombre",
        "rp",
        "mecanismo",
        "valor",
        "medio",
        "duplicado",
    ).write_parquet(parquet)
    files = {
        "rechazos.csv": _csv_bytes(rejection_rows(result), REJECTION_COLUMNS),
        "advertencias.csv": _csv_bytes(result.warnings),
        "aceptados.parquet": parquet.getvalue(),
        "resumen.json": json.dumps(result.summary, ensure_ascii=False, indent=2).encode() + b"\n",
    }
    written = []
    for name, data in files.items():
        atomic_write(out / name, data)
        written.append(out / name)
    return written
