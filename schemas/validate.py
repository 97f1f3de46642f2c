"""The rules of DESIGN.md §2 applied to entries, in order; each rejected entry gets one code."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from schemas import normalize as nz
from schemas.codes import ADVERTENCIAS, RECHAZOS
from schemas.limits import MAX_CORREOS, MAX_TELEFONOS, Existing, rp_owners, scope_ranks

WARNING_COLUMNS = ["archivo", "hoja", "fila", "columna", "valor", "codigo", "mensaje"]


@dataclass(frozen=True)
class Validated:
    entries: pl.DataFrame  # every entry with rfc, rp, medio, codigo, mensaje, duplicado
    warnings: pl.DataFrame  # WARNING_COLUMNS


def _code(frame: pl.DataFrame, condition: pl.Expr, code: str) -> pl.DataFrame:
    """Give ``code`` to entries still without one that meet ``condition``."""
    return frame.with_columns(
        pl.when(pl.col("codigo").is_null() & condition.fill_null(False))
        .then(pl.lit(code))
        .otherwise(pl.col("codigo"))
        .alias("codigo")
    )


def validate_entries(
    entries: pl.DataFrame, existing: Existing | None = None, *, rp_digito_warning: bool = False
) -> Validated:
    """``entries`` from :func:`schemas.entries.extract_entries`, concatenated, with ``orden``."""
    existing = existing or Existing()
    df = entries.with_columns(
        nz.rfc_compact("rfc_valor").alias("rfc"),
        nz.rp_compact("rp_valor").alias("rp"),
        pl.lit(None, dtype=pl.String).alias("codigo"),
    )
    checks = nz.rfc_checks(df["rfc"])
    df = df.join(checks, on="rfc", how="left")
    df = _code(df, ~pl.col("rfc_ok").fill_null(False), "RFC_INVALIDO")
    df = _code(df, pl.col("rp").is_not_null() & ~nz.rp_format_ok("rp"), "RP_INVALIDO")
    rp_bad_digit = pl.col("rp").is_not_null() & ~nz.rp_check_digit_ok("rp")
    df = df.with_columns((pl.col("codigo").is_null() & rp_bad_digit).alias("rp_digito_malo"))
    if not rp_digito_warning:
        df = _code(df, pl.col("rp_digito_malo"), "RP_DIGITO")

    owners = rp_owners(df.filter(pl.col("codigo").is_null()).select("orden", "rfc", "rp"), existing)
    df = df.join(owners, on="rp", how="left")
    df = _code(df, pl.col("dueno").is_not_null() & (pl.col("dueno") != pl.col("rfc")), "RP_OTRO_RFC")

    is_long = pl.col("mecanismo_columna").is_not_null()
    df = _code(df, is_long & pl.col("mecanismo").is_null(), "MECANISMO_INVALIDO")
    df = _code(df, pl.col("valor").is_null(), "SIN_MEDIO")

    df = df.with_columns(
        pl.when(pl.col("mecanismo") == "correo")
        .then(nz.email_compact("valor"))
        .when(pl.col("mecanismo") == "telefono")
        .then(nz.phone_compact("valor"))
        .alias("medio")
    )
    pending = pl.col("codigo").is_null()
    mails = df.filter(pending & (pl.col("mecanismo") == "correo"))["medio"]
    df = df.join(nz.email_ok(mails), on="medio", how="left")
    df = _code(
        df, (pl.col("mecanismo") == "correo") & ~pl.col("correo_ok").fill_null(False), "CORREO_INVALIDO"
    )
    df = df.with_columns(nz.phone_shape_ok("medio").alias("forma_ok"))
    phones = df.filter(pending & (pl.col("mecanismo") == "telefono") & pl.col("forma_ok"))["medio"]
    df = df.join(nz.phone_plan_ok(phones), on="medio", how="left")
    phone_ok = pl.col("forma_ok").fill_null(False) & pl.col("plan_ok").fill_null(False)
    df = _code(df, (pl.col("mecanismo") == "telefono") & ~phone_ok, "TELEFONO_INVALIDO")

    ranks = scope_ranks(
        df.filter(pl.col("codigo").is_null()).select("orden", "rfc", "rp", "mecanismo", "medio"),
        existing,
    )
    df = df.join(ranks, on="orden", how="left")
    df = _code(df, (pl.col("mecanismo") == "correo") & (pl.col("rango") > MAX_CORREOS), "CORREOS_EXCEDIDOS")
    df = _code(
        df, (pl.col("mecanismo") == "telefono") & (pl.col("rango") > MAX_TELEFONOS), "TELEFONO_EXCEDIDO"
    )
    df = df.with_columns(
        (pl.col("codigo").is_null() & (pl.col("orden") != pl.col("primero"))).alias("duplicado"),
        pl.col("codigo").replace_strict(RECHAZOS, default=None, return_dtype=pl.String).alias("mensaje"),
        pl.when(pl.col("rfc_ok").fill_null(False)).then(pl.col("rfc")).alias("rfc"),
    ).sort("orden")
    return Validated(entries=_tidy(df), warnings=_warnings(df, existing))


def _tidy(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        "orden",
        "archivo",
        "hoja",
        "fila",
        "columna",
        "rfc_valor",
        "rfc_columna",
        "rfc",
        "nombre",
        "rp_valor",
        "rp_columna",
        "rp",
        "mecanismo_valor",
        "mecanismo_columna",
        "mecanismo",
        "valor",
        "medio",
        "codigo",
        "mensaje",
        pl.col("duplicado").fill_null(False),
        pl.col("rfc_digito_ok").fill_null(True),
        pl.col("rp_digito_malo").fill_null(False),
    )


def _warning(frame: pl.DataFrame, code: str, columna: str, valor: str) -> pl.DataFrame:
    return frame.select(
        "archivo",
        "hoja",
        "fila",
        pl.col(columna).alias("columna"),
        pl.col(valor).alias("valor"),
        pl.lit(code).alias("codigo"),
        pl.lit(ADVERTENCIAS[code]).alias("mensaje"),
    )


def _warnings(df: pl.DataFrame, existing: Existing) -> pl.DataFrame:
    valid_rfc = df.filter(pl.col("codigo").is_null() | (pl.col("codigo") != "RFC_INVALIDO"))
    valid_rfc = valid_rfc.filter(pl.col("rfc").is_not_null())
    first_per_rfc = valid_rfc.sort("orden").unique("rfc", keep="first", maintain_order=True)
    parts = [
        _warning(first_per_rfc.filter(~pl.col("rfc_digito_ok").fill_null(True)), "RFC_DIGITO", "rfc_columna", "rfc_valor"),
        _warning(
            df.filter(pl.col("codigo").is_null() & pl.col("rp_digito_malo").fill_null(False)),
            "RP_DIGITO",
            "rp_columna",
            "rp_valor",
        ),
        _warning(df.filter(pl.col("duplicado").fill_null(False)), "DUPLICADO", "columna", "valor"),
    ]
    # An RFC scope needs an email and a mobile, counting what the registry already has.
    accepted_rfc_scope = df.filter(pl.col("codigo").is_null() & pl.col("rp").is_null()).select(
        "rfc", "mecanismo"
    )
    held = pl.concat(
        [accepted_rfc_scope, existing.active.filter(pl.col("rp").is_null()).select("rfc", "mecanismo")]
    )
    complete = (
        held.group_by("rfc")
        .agg(
            (pl.col("mecanismo") == "correo").any().alias("c"),
            (pl.col("mecanismo") == "telefono").any().alias("t"),
        )
        .filter(pl.col("c") & pl.col("t"))
    )
    incomplete = first_per_rfc.join(complete, on="rfc", how="anti")
    parts.append(_warning(incomplete, "RFC_INCOMPLETO", "rfc_columna", "rfc_valor"))
    return pl.concat(parts).cast({"fila": pl.Int64})
