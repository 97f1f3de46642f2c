"""The rules of DESIGN.md §2 applied to entries, in order; each rejected entry gets one code."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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


def _first_code(rules: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """The code of the first rule (in order) whose condition holds, else null."""
    expr = pl.when(rules[0][0].fill_null(False)).then(pl.lit(rules[0][1]))
    for condition, code in rules[1:]:
        expr = expr.when(condition.fill_null(False)).then(pl.lit(code))
    return expr.otherwise(pl.lit(None, dtype=pl.String))


def validate_entries(
    entries: pl.DataFrame, existing: Existing | None = None, *, rp_digito_warning: bool = False
) -> Validated:
    """``entries`` from :func:`schemas.entries.extract_entries`, concatenated, with ``orden``.

    Three passes over the frame, each a handful of column expressions: per-value rules (the
    libraries run once per distinct value and come back as lookups), then RP ownership, then the
    per-scope limits. A rule's code is kept only if no earlier rule gave one.
    """
    existing = existing or Existing()
    mecanismo = pl.col("mecanismo")
    # Each normalizer sees only its own mechanism's values (nulls cost nothing): when/then
    # would run both on every row.
    df = (
        entries.lazy()
        .with_columns(
            pl.when(mecanismo == "correo").then(pl.col("valor")).alias("_correo"),
            pl.when(mecanismo == "telefono").then(pl.col("valor")).alias("_telefono"),
        )
        .with_columns(
            nz.rp_compact("rp_valor").alias("rp"),
            nz.email_compact("_correo").alias("_correo"),
            nz.phone_compact("_telefono").alias("_telefono"),
        )
        # Separate steps: an expression reused inside another one is evaluated once per use.
        .with_columns(pl.coalesce("_correo", "_telefono").alias("medio"))
    )
    # stdnum's per-RFC loop holds the GIL while polars' collect releases it: run them side by side.
    # RFCs repeat on every entry of a company: each distinct raw spelling is compacted and checked
    # once, and the answers are joined back.
    raw_rfcs = entries.select(pl.col("rfc_valor").unique()).with_columns(
        nz.rfc_compact("rfc_valor").alias("rfc")
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        rfc_checked = pool.submit(nz.rfc_checks, raw_rfcs["rfc"])
        df = nz.with_email_parts(df, "_correo").collect()
        rfc_table = rfc_checked.result()
    # Same defaults as nz.rfc_flags: an empty RFC is invalid and has no check digit to doubt.
    rfc_of = raw_rfcs.join(rfc_table, on="rfc", how="left").with_columns(
        pl.col("rfc_ok").fill_null(False), pl.col("rfc_digito_ok").fill_null(True)
    )
    # Narrow first, then filter: filtering all the columns of a million rows copies them all.
    media = df.select("mecanismo", "medio", "_rapido", "_tld")
    tld_ok, slow_ok = nz.email_lookups(media.filter(mecanismo == "correo"), "medio")
    phones = media.filter((mecanismo == "telefono") & nz.phone_shape_ok("medio"))["medio"]
    rfc_ok = pl.col("rfc_ok").fill_null(False)
    rfc_digito_ok = pl.col("rfc_digito_ok").fill_null(True)
    rp = pl.col("rp")
    per_value = [(~pl.col("rfc_ok"), "RFC_INVALIDO"), (pl.col("_rp_forma"), "RP_INVALIDO")]
    if not rp_digito_warning:
        per_value.append((pl.col("_rp_digito"), "RP_DIGITO"))
    df = (
        df.lazy()
        .join(rfc_of.lazy(), on="rfc_valor", how="left", maintain_order="left")
        .with_columns(nz.rp_check_digit_parts("rp"))
        .with_columns(
            rfc_ok.alias("rfc_ok"),
            rfc_digito_ok.alias("rfc_digito_ok"),
            (rp.is_not_null() & ~nz.rp_format_ok("rp")).alias("_rp_forma"),
            (rp.is_not_null() & ~nz.rp_check_digit_ok_from_parts()).alias("_rp_digito"),
        )
        .with_columns(
            _first_code(per_value).alias("codigo_rfc_rp"),
            _first_code(
                [
                    (
                        pl.col("mecanismo_columna").is_not_null() & mecanismo.is_null(),
                        "MECANISMO_INVALIDO",
                    ),
                    (pl.col("valor").is_null(), "SIN_MEDIO"),
                    (
                        # _correo/_telefono equal medio on their own rows and are null on the
                        # others, which the lookups then skip.
                        (mecanismo == "correo") & ~nz.email_verdict("_correo", tld_ok, slow_ok),
                        "CORREO_INVALIDO",
                    ),
                    (
                        (mecanismo == "telefono") & ~nz.phone_ok("_telefono", phones),
                        "TELEFONO_INVALIDO",
                    ),
                ]
            ).alias("codigo_medio"),
        )
        .with_columns(
            (pl.col("codigo_rfc_rp").is_null() & pl.col("_rp_digito")).alias("rp_digito_malo")
        )
        .collect()
    )

    owners = rp_owners(
        df.select("orden", "rfc", "rp", "codigo_rfc_rp")
        .filter(pl.col("codigo_rfc_rp").is_null())
        .drop("codigo_rfc_rp"),
        existing,
    )
    df = df.with_columns(
        pl.coalesce(
            "codigo_rfc_rp",
            pl.when(pl.col("orden").is_in(owners.implode())).then(pl.lit("RP_OTRO_RFC")),
            "codigo_medio",
        ).alias("codigo")
    )

    ranks = scope_ranks(
        df.select("orden", "rfc", "rp", "mecanismo", "medio", "codigo")
        .filter(pl.col("codigo").is_null())
        .drop("codigo"),
        existing,
    )
    over = ranks.filter(
        ((pl.col("mecanismo") == "correo") & (pl.col("rango") > MAX_CORREOS))
        | ((pl.col("mecanismo") == "telefono") & (pl.col("rango") > MAX_TELEFONOS))
    )
    excess = dict(zip(over["orden"], over["mecanismo"], strict=True))
    repeated = ranks.filter(pl.col("repetido"))["orden"]
    df = df.with_columns(
        pl.coalesce(
            "codigo",
            pl.col("orden")
            .replace_strict(excess, default=None, return_dtype=pl.String)
            .replace_strict(
                {"correo": "CORREOS_EXCEDIDOS", "telefono": "TELEFONO_EXCEDIDO"},
                default=None,
                return_dtype=pl.String,
            ),
        ).alias("codigo")
    ).with_columns(
        (pl.col("codigo").is_null() & pl.col("orden").is_in(repeated.implode())).alias("duplicado"),
        pl.col("codigo")
        .replace_strict(RECHAZOS, default=None, return_dtype=pl.String)
        .alias("mensaje"),
        pl.when(pl.col("rfc_ok")).then(pl.col("rfc")).alias("rfc"),
    )
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
    if not df["orden"].is_sorted():
        df = df.sort("orden")
    # The first entry of each valid RFC, found on three narrow columns, then fetched whole.
    firsts = (
        df.select("orden", "rfc", "codigo")
        .filter(
            (pl.col("codigo").is_null() | (pl.col("codigo") != "RFC_INVALIDO"))
            & pl.col("rfc").is_not_null()
        )
        .filter(pl.col("rfc").is_first_distinct())["orden"]
    )
    first_per_rfc = df.filter(pl.col("orden").is_in(firsts.implode()))
    parts = [
        _warning(
            first_per_rfc.filter(~pl.col("rfc_digito_ok").fill_null(True)),
            "RFC_DIGITO",
            "rfc_columna",
            "rfc_valor",
        ),
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
        [
            accepted_rfc_scope,
            existing.active.filter(pl.col("rp").is_null()).select("rfc", "mecanismo"),
        ]
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
