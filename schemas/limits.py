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


def _row_hash(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    """A 64-bit hash per row of ``columns`` (a null RP hashed as "", as the exact keys treat it).

    Hashes only narrow the search: every answer is then confirmed on the real strings, so a
    collision can cost time but never change a result.
    """
    parts = [pl.col(c).fill_null("") if c == "rp" else pl.col(c) for c in columns]
    return frame.select(parts).hash_rows(seed=7)


def _repeated_hashes(hashes: pl.Series) -> pl.Series:
    """The hash values that occur more than once (a sort and a neighbour comparison)."""
    ordered = hashes.sort()
    return ordered.filter(ordered == ordered.shift(1)).unique()


def rp_owners(candidates: pl.DataFrame, existing: Existing) -> pl.Series:
    """The ``orden`` of entries whose RP belongs to another RFC (RP_OTRO_RFC).

    An RP belongs to the registry's owner, else to the first RFC it appears under in file order.
    ``candidates`` holds entries that passed the RFC and RP rules: {orden, rfc, rp}. Only RPs seen
    under two RFCs, or already owned in the registry, can fail; the rest are never joined.
    """
    rows = candidates.filter(pl.col("rp").is_not_null())
    # An RP under two RFCs has two distinct (rp, rfc) pairs: some pair hash repeats an RP hash
    # beside another pair. Sorting (RP hash, pair hash) puts them side by side; a collision only
    # adds suspects, checked on the real strings below.
    keys = pl.DataFrame(
        {
            "r": rows.select(pl.col("rp").hash(seed=7)).to_series(),
            "p": _row_hash(rows, ["rp", "rfc"]),
        }
    ).sort("r", "p")
    twice = (pl.col("r") == pl.col("r").shift(1)) & (pl.col("p") != pl.col("p").shift(1))
    maybe = keys.filter(twice)["r"].unique()
    rows = rows.filter(pl.col("rp").hash(seed=7).is_in(maybe.implode()))
    shared = rows.group_by("rp").agg(pl.col("rfc").n_unique().alias("n")).filter(pl.col("n") > 1)
    suspects = pl.concat([shared["rp"], existing.rp_owner["rp"]]).unique()
    doubtful = candidates.filter(pl.col("rp").is_in(suspects.implode())).sort("orden")
    first = doubtful.unique("rp", keep="first", maintain_order=True).select(
        "rp", pl.col("rfc").alias("dueno")
    )
    registry = existing.rp_owner.select("rp", pl.col("rfc").alias("dueno_registro"))
    owned = doubtful.join(first, on="rp", how="left").join(registry, on="rp", how="left")
    return owned.filter(pl.coalesce("dueno_registro", "dueno") != pl.col("rfc"))["orden"]


_SEP = "\x1f"  # unit separator: cannot occur in a normalized RFC, RP, mechanism or medium
_LIMITS = {"correo": MAX_CORREOS, "telefono": MAX_TELEFONOS}
_SCOPE = ["rfc", "rp", "mecanismo"]
_MEDIUM = [*_SCOPE, "medio"]


def _scope() -> pl.Expr:
    return pl.concat_str(
        [pl.col("rfc"), pl.col("rp").fill_null(""), pl.col("mecanismo")], separator=_SEP
    ).alias("scope")


def _key() -> pl.Expr:
    return pl.concat_str(["scope", "medio"], separator=_SEP).alias("_clave")


def _hashes(frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """(scope hash, medium hash) per row; the medium's hashes its scope's hash and the medium,
    which is cheaper than hashing the four text columns again."""
    scope = _row_hash(frame, _SCOPE)
    medium = pl.DataFrame([scope.alias("s"), frame["medio"]]).hash_rows(seed=7)
    return scope, medium


@dataclass(frozen=True)
class ScopeLimits:
    """What the per-scope limits reject and which entries only repeat a medium."""

    over: pl.DataFrame  # {orden, mecanismo}: past the limit of their (scope, mechanism)
    repeated: pl.Series  # orden of entries whose medium appeared earlier in the same scope


def scope_limits(candidates: pl.DataFrame, existing: Existing) -> ScopeLimits:
    """Entries past their scope's limit, counting registry media first, and repeated media.

    ``candidates``: {orden, rfc, rp, mecanismo, medio}. An entry's *rank* is the 1-based order of
    first appearance of its medium in its (scope, mechanism) after the R media the registry
    already holds there (those rank 1..R, so they never count twice); an entry is over the limit
    when its rank exceeds :data:`MAX_CORREOS` / :data:`MAX_TELEFONOS`. A medium that appeared
    earlier in the file for the same scope is *repeated* (DUPLICADO); it shares the rank of its
    first appearance.

    Exact ranks are only computed in scopes that hold more media than their limit: elsewhere every
    medium fits. Per-scope window ranks and string keys over a million entries (hundreds of
    thousands of scopes) cost seconds; the crowded scopes and the repeated media are few. So
    64-bit row hashes find the few rows that may matter (a collision only adds rows) and the
    string keys are built and compared on those rows alone.
    """
    rows = candidates.select("orden", "rfc", "rp", "mecanismo", "medio")
    if not rows["orden"].is_sorted():
        rows = rows.sort("orden")
    scope_hash, medium_hash = _hashes(rows)
    rows = rows.with_columns(medium_hash.alias("_h"), scope_hash.alias("_cubo"))
    empty = pl.Series(dtype=pl.Int64)

    # Repeated media: only rows whose hash repeats can repeat; judged on the real key.
    maybe = rows.filter(pl.col("_h").is_in(_repeated_hashes(medium_hash).implode()))
    repeated = (
        maybe.with_columns(_scope()).filter(~_key().is_first_distinct())["orden"]
        if maybe.height
        else empty
    )
    active = existing.active
    held = active.select(_scope(), "medio", *_SCOPE).unique(["scope", "medio"])
    registered = empty
    held_scope = pl.Series(dtype=pl.UInt64)
    if held.height:
        held_scope, held_medium = _hashes(held)
        maybe = rows.filter(pl.col("_h").is_in(held_medium.implode()))
        held_keys = held.select(_key())["_clave"]
        registered = maybe.with_columns(_scope()).filter(_key().is_in(held_keys.implode()))["orden"]
    flags = rows.select(
        "_cubo",
        "mecanismo",
        pl.col("orden").is_in(repeated.implode()).alias("repetido"),
        pl.col("orden").is_in(registered.implode()).alias("registrado"),
    )

    # Crowded scopes: per mechanism, a sorted list of the scope hashes of the new media and the
    # registry's media; a value equal to the one `limit` places before it occurs over `limit`
    # times. A collision merges two scopes and can only flag too many (ranked exactly below).
    new = flags.filter(~pl.col("repetido") & ~pl.col("registrado"))
    crowded = [new.filter(~pl.col("mecanismo").is_in(list(_LIMITS)))["_cubo"]]
    for mechanism, limit in _LIMITS.items():
        mine = pl.concat(
            [
                new.filter(pl.col("mecanismo") == mechanism)["_cubo"],
                held_scope.filter(held["mecanismo"] == mechanism) if held.height else held_scope,
            ]
        ).sort()
        crowded.append(mine.filter(mine == mine.shift(limit)))
    crowded_hashes = pl.concat(crowded).unique()
    no_rows = pl.DataFrame(schema={"orden": pl.Int64, "mecanismo": pl.String})
    if crowded_hashes.len() == 0:
        return ScopeLimits(over=no_rows, repeated=repeated)
    busy = (
        rows.with_columns(flags["registrado"])
        .filter(pl.col("_cubo").is_in(crowded_hashes.implode()))
        .with_columns(_scope())
        .join(
            held.group_by("scope").agg(pl.len().cast(pl.Int64).alias("en_registro")),
            on="scope",
            how="left",
        )
        .with_columns(pl.col("en_registro").fill_null(0))
    )
    primero = pl.col("orden").min().over("scope", "medio")
    rank = pl.when(~pl.col("registrado")).then(primero).rank("dense").over("scope")
    rango = (
        pl.when(pl.col("registrado"))
        .then(pl.lit(1, dtype=pl.Int64))
        .otherwise(pl.col("en_registro") + rank.cast(pl.Int64))
    )
    limit = pl.col("mecanismo").replace_strict(_LIMITS, default=None, return_dtype=pl.Int64)
    over = busy.filter(rango > limit).select("orden", "mecanismo")
    return ScopeLimits(over=over.cast({"orden": pl.Int64}), repeated=repeated)
