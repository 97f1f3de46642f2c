"""Per-scope limits (≤5 emails, ≤1 mobile), RP ownership and duplicates, in plain polars.

pandera's ``groupby`` checks are ignored on polars frames, and the limits must also count what the
registry already holds, so they are computed here as window expressions over the entries plus the
registry's active media.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

MAX_CORREOS = 5
MAX_TELEFONOS = 1


def _empty_owner() -> pl.DataFrame:
    return pl.DataFrame(schema={"rp": pl.String, "rfc": pl.String})


def _empty_active() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"rfc": pl.String, "rp": pl.String, "mecanismo": pl.String, "medio": pl.String}
    )


@dataclass(frozen=True)
class Existing:
    """What the registry already holds for the RFCs and RPs of an upload."""

    rp_owner: pl.DataFrame = field(default_factory=_empty_owner)  # {rp, rfc}
    active: pl.DataFrame = field(default_factory=_empty_active)  # {rfc, rp|null, mecanismo, medio}


def rp_owners(candidates: pl.DataFrame, existing: Existing) -> pl.Series:
    """The ``orden`` of entries whose RP belongs to another RFC (RP_OTRO_RFC).

    An RP belongs to the registry's owner, else to the first RFC it appears under in file order.
    ``candidates`` holds entries that passed the RFC and RP rules: {orden, rfc, rp}. Only RPs seen
    under two RFCs, or already owned in the registry, can fail; the rest are never joined.
    """
    rows = candidates.filter(pl.col("rp").is_not_null())
    shared = rows.group_by("rp").agg(pl.col("rfc").n_unique().alias("n")).filter(pl.col("n") > 1)
    suspects = pl.concat([shared["rp"], existing.rp_owner["rp"]]).unique()
    doubtful = rows.filter(pl.col("rp").is_in(suspects.implode())).sort("orden")
    first = doubtful.unique("rp", keep="first", maintain_order=True).select(
        "rp", pl.col("rfc").alias("dueno")
    )
    registry = existing.rp_owner.select("rp", pl.col("rfc").alias("dueno_registro"))
    owned = doubtful.join(first, on="rp", how="left").join(registry, on="rp", how="left")
    return owned.filter(pl.coalesce("dueno_registro", "dueno") != pl.col("rfc"))["orden"]


_SEP = "\x1f"  # unit separator: cannot occur in a normalized RFC, RP, mechanism or medium
_LIMITS = {"correo": MAX_CORREOS, "telefono": MAX_TELEFONOS}


def _scope() -> pl.Expr:
    return pl.concat_str(
        [pl.col("rfc"), pl.col("rp").fill_null(""), pl.col("mecanismo")], separator=_SEP
    ).alias("scope")


def scope_ranks(candidates: pl.DataFrame, existing: Existing) -> pl.DataFrame:
    """Rank of each entry's medium within its scope, counting registry media first.

    ``candidates``: {orden, rfc, rp, mecanismo, medio}. Returns {orden, mecanismo, rango,
    repetido}:
    ``rango`` is the 1-based order of first appearance of the medium in its (scope, mechanism)
    after the R media the registry already holds there (those rank 1..R, so they never count
    twice); ``repetido`` is true when the same medium appeared earlier in the file for the same
    scope (DUPLICADO).

    Exact ranks are only computed in scopes that hold more media than their limit: elsewhere every
    medium fits and ``rango`` is 1. Per-scope window ranks over a million entries (hundreds of
    thousands of scopes) cost seconds; the crowded scopes are few.
    """
    rows = candidates.sort("orden").select("orden", _scope(), "mecanismo", "medio")
    key = pl.concat_str(["scope", "medio"], separator=_SEP)
    active = existing.active
    held = active.select(_scope(), "medio").unique()
    held_keys = held.select(key)["scope"]
    rows = rows.with_columns(key.alias("_clave")).with_columns(
        ~pl.col("_clave").is_first_distinct().alias("repetido"),
        (pl.col("_clave").is_in(held_keys.implode()) if held.height else pl.lit(False)).alias(
            "registrado"
        ),
    )
    # Finding the crowded scopes groups by a 64-bit hash of the scope: much cheaper than strings,
    # and a collision only merges counts, so it can flag a scope that is not crowded (ranked
    # exactly below, on the real key) but never miss one that is.
    bucket = pl.col("scope").hash(seed=7).alias("_cubo")
    # A merged bucket may mix mechanisms: it is judged by the stricter limit (mobiles: 1).
    limit = pl.col("mecanismo").replace_strict(_LIMITS, default=0, return_dtype=pl.Int64)
    held_counts = held.group_by(bucket).agg(pl.len().cast(pl.Int64).alias("en_registro"))
    new_media = (
        rows.filter(~pl.col("repetido") & ~pl.col("registrado"))
        .group_by(bucket)
        .agg(pl.len().cast(pl.Int64).alias("nuevos"), limit.min().alias("limite"))
        .join(held_counts, on="_cubo", how="left")
        .with_columns(pl.col("en_registro").fill_null(0))
    )
    crowded = new_media.filter(pl.col("nuevos") + pl.col("en_registro") > pl.col("limite"))["_cubo"]
    if crowded.len() == 0:
        return rows.select(
            "orden", "mecanismo", pl.lit(1, dtype=pl.Int64).alias("rango"), "repetido"
        )
    busy = (
        rows.filter(bucket.is_in(crowded.implode()))
        .join(
            held.group_by("scope").agg(pl.len().cast(pl.Int64).alias("en_registro")),
            on="scope",
            how="left",
        )
        .with_columns(pl.col("en_registro").fill_null(0))
    )
    primero = pl.col("orden").min().over("scope", "medio")
    rank = pl.when(~pl.col("registrado")).then(primero).rank("dense").over("scope")
    ranked = busy.select(
        "orden",
        pl.when(pl.col("registrado"))
        .then(pl.lit(1, dtype=pl.Int64))
        .otherwise(pl.col("en_registro") + rank.cast(pl.Int64))
        .alias("rango"),
    )
    return rows.join(ranked, on="orden", how="left").select(
        "orden", "mecanismo", pl.col("rango").fill_null(1), "repetido"
    )
