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


def rp_owners(candidates: pl.DataFrame, existing: Existing) -> pl.DataFrame:
    """The owner of each RP: the registry's, else the first RFC it appears under in file order.

    ``candidates`` holds entries that passed the RFC and RP rules: {orden, rfc, rp}.
    """
    from_file = (
        candidates.filter(pl.col("rp").is_not_null())
        .sort("orden")
        .group_by("rp", maintain_order=True)
        .agg(pl.col("rfc").first().alias("dueno"))
    )
    registry = existing.rp_owner.select("rp", pl.col("rfc").alias("dueno_registro"))
    return (
        from_file.join(registry, on="rp", how="full", coalesce=True)
        .select("rp", pl.coalesce("dueno_registro", "dueno").alias("dueno"))
    )


def scope_ranks(candidates: pl.DataFrame, existing: Existing) -> pl.DataFrame:
    """Rank of each entry's medium within its scope, counting registry media first.

    ``candidates``: {orden, rfc, rp, mecanismo, medio}. Returns {orden, rango, primero} where
    ``rango`` is the 1-based order of first appearance of the medium in its (scope, mechanism) and
    ``primero`` the file order of its first occurrence in the file (for DUPLICADO).
    """
    key = ["rfc", "rp_k", "mecanismo"]
    file_rows = candidates.select(
        "orden", "rfc", pl.col("rp").fill_null("").alias("rp_k"), "mecanismo", "medio"
    )
    registry_rows = existing.active.select(
        pl.lit(-1, dtype=pl.Int64).alias("orden"),
        "rfc",
        pl.col("rp").fill_null("").alias("rp_k"),
        "mecanismo",
        "medio",
    )
    firsts = (
        pl.concat([registry_rows, file_rows])
        .group_by([*key, "medio"])
        .agg(pl.col("orden").min().alias("aparece"))
        .with_columns(
            pl.col("aparece").rank("ordinal").over(key).cast(pl.Int64).alias("rango")
        )
    )
    first_in_file = file_rows.group_by([*key, "medio"]).agg(pl.col("orden").min().alias("primero"))
    return (
        file_rows.join(firsts, on=[*key, "medio"], how="left")
        .join(first_in_file, on=[*key, "medio"], how="left")
        .select("orden", "rango", "primero")
    )
