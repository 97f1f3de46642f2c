"""The rules of DESIGN.md §2 applied to entries, in order; each rejected entry gets one code.

How a million entries fit in about a second on two cores:

- The RFC and RP are judged once per *run* of consecutive entries sharing both cells (a wide row
  gives one entry per medium, all with its RFC and RP) and spread back with one gather.
- Each medium is normalized on its own mechanism's rows only, and the three independent passes
  (emails, mobiles, RPs) are collected together so polars runs them side by side, while stdnum
  checks the distinct RFCs in a Python thread.
- Codes are small integers (their index in the rule order) until the very end, and only new
  columns are attached to the entries: their text columns are never copied.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from schemas import normalize as nz
from schemas.codes import ADVERTENCIAS, RECHAZOS
from schemas.limits import Existing, rp_owners, scope_limits
from schemas.todos import TODOS

WARNING_COLUMNS = ["archivo", "hoja", "fila", "columna", "valor", "codigo", "mensaje"]

_CODES = list(RECHAZOS)
_CODE = {code: pl.lit(i, dtype=pl.UInt8) for i, code in enumerate(_CODES)}
_NO_CODE = pl.lit(None, dtype=pl.UInt8)


@dataclass(frozen=True)
class Validated:
    entries: pl.DataFrame  # every entry with rfc, rp, medio, codigo, mensaje, duplicado
    warnings: pl.DataFrame  # WARNING_COLUMNS


def _first_code(rules: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """The code number of the first rule (in order) whose condition holds, else null."""
    expr = pl.when(rules[0][0].fill_null(False)).then(_CODE[rules[0][1]])
    for condition, code in rules[1:]:
        expr = expr.when(condition.fill_null(False)).then(_CODE[code])
    return expr.otherwise(_NO_CODE)


def _code_if(condition: pl.Expr, code: str) -> pl.Expr:
    return pl.when(condition).then(_CODE[code]).otherwise(_NO_CODE)


def _runs(entries: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Runs of consecutive entries with the same RFC and RP cells: (run starts, run of entry)."""
    rfc, rp = pl.col("rfc_valor"), pl.col("rp_valor")
    starts = entries.select(
        (
            (pl.int_range(pl.len()) == 0)
            | rfc.ne_missing(rfc.shift(1))
            | rp.ne_missing(rp.shift(1))
        ).alias("inicio")
    )["inicio"]
    return starts, (starts.cum_sum() - 1).cast(pl.UInt32)


def _mail_query(narrow: pl.LazyFrame) -> pl.LazyFrame:
    # Most addresses are plain (their compact form is their lower case): the full chain of
    # string steps only runs on the others. The parts are put back in order later.
    mails = narrow.filter(pl.col("mecanismo") == "correo")
    mails = mails.with_columns(nz.email_is_plain("valor").alias("_simple"))
    plain = mails.filter(pl.col("_simple")).select(
        "orden", pl.col("valor").str.to_lowercase().alias("medio")
    )
    other = mails.filter(~pl.col("_simple")).select(
        "orden", nz.email_compact("valor").alias("medio")
    )
    return pl.concat(
        [
            plain.with_columns(nz.email_parts("medio", plain=True)),
            other.with_columns(nz.email_parts("medio")),
        ]
    )


def _phone_query(narrow: pl.LazyFrame) -> pl.LazyFrame:
    phones = narrow.filter(pl.col("mecanismo") == "telefono")
    phones = phones.with_columns(nz.phone_is_compact("valor").alias("_simple"))
    plain = phones.filter(pl.col("_simple")).select("orden", pl.col("valor").alias("medio"))
    other = phones.filter(~pl.col("_simple")).select(
        "orden", nz.phone_compact("valor").alias("medio")
    )
    return pl.concat([plain, other]).with_columns(nz.phone_shape_ok("medio").alias("_forma"))


def _rp_query(runs: pl.LazyFrame) -> pl.LazyFrame:
    runs = runs.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("corrida"),
        nz.rp_is_compact("rp_valor").alias("_simple"),
    )
    plain = runs.filter(pl.col("_simple")).with_columns(pl.col("rp_valor").alias("rp"))
    other = runs.filter(~pl.col("_simple")).with_columns(nz.rp_compact("rp_valor").alias("rp"))
    runs = pl.concat([plain, other]).sort("corrida")
    runs = runs.with_columns(
        nz.rp_format_ok("rp").alias("rp_forma_ok"), *nz.rp_check_digit_parts("rp")
    )
    return runs.with_columns(nz.rp_check_digit_ok_from_parts().alias("rp_digito_ok")).drop(
        "_rp_numero", "_simple"
    )


def _media(entries: pl.DataFrame, mails: pl.DataFrame, phones: pl.DataFrame) -> pl.DataFrame:
    """{medio, codigo_medio} aligned with ``entries`` (sorted by ``orden``).

    The libraries answer once per TLD, prefix or unusual value; the parts are put back in order.
    """
    good_tlds, good_slow = nz.email_verdicts(mails, "medio")
    mails = mails.select(
        "orden",
        "medio",
        _code_if(~nz.email_verdict("medio", good_tlds, good_slow), "CORREO_INVALIDO").alias(
            "codigo_medio"
        ),
    )
    good, exact = nz.phone_verdicts(phones.filter(pl.col("_forma"))["medio"])
    phones = phones.select(
        "orden",
        "medio",
        _code_if(~nz.phone_ok("medio", good, exact), "TELEFONO_INVALIDO").alias("codigo_medio"),
    )
    other = ~pl.col("mecanismo").is_in(["correo", "telefono"]).fill_null(False)
    rest = entries.select("orden", "mecanismo").filter(other)
    rest = rest.select(
        "orden", pl.lit(None, dtype=pl.String).alias("medio"), _NO_CODE.alias("codigo_medio")
    )
    return pl.concat([mails, phones, rest]).sort("orden").drop("orden")


def _identities(
    runs: pl.DataFrame, rfcs: pl.DataFrame, existing: Existing, *, rp_digito_warning: bool
) -> pl.DataFrame:
    """RFC and RP rules and RP ownership per run: {rfc, rp, codigo, rfc_ok, rfc_digito_ok,
    rp_digito_malo}. ``runs`` comes from :func:`_rp_query`; ``rfcs`` maps each distinct
    ``rfc_valor`` to {rfc, rfc_ok, rfc_digito_ok}."""
    # An empty RFC is invalid and has no check digit to doubt.
    runs = runs.join(rfcs, on="rfc_valor", how="left", maintain_order="left").with_columns(
        pl.col("rfc_ok").fill_null(False), pl.col("rfc_digito_ok").fill_null(True)
    )
    rp = pl.col("rp")
    # Only an RP of the right shape has a check digit to judge, and RP_INVALIDO comes first.
    digit_bad = rp.is_not_null() & ~pl.col("rp_digito_ok")
    rules = [
        (~pl.col("rfc_ok"), "RFC_INVALIDO"),
        (rp == TODOS, "RP_TODOS_SIN_RP"),  # «TODOS» with no RP to expand to (schemas.todos)
        (rp.is_not_null() & ~pl.col("rp_forma_ok"), "RP_INVALIDO"),
    ]
    if not rp_digito_warning:
        rules.append((digit_bad, "RP_DIGITO"))
    runs = runs.with_columns(_first_code(rules).alias("codigo"), digit_bad.alias("_digito_malo"))
    # An RP belongs to the first RFC it appears under: runs keep the file order.
    owners = rp_owners(
        runs.filter(pl.col("codigo").is_null()).select(
            pl.col("corrida").alias("orden"), "rfc", "rp"
        ),
        existing,
    )
    return runs.select(
        pl.when(pl.col("rfc_ok")).then(pl.col("rfc")).alias("rfc"),
        "rp",
        pl.coalesce(
            "codigo", _code_if(pl.col("corrida").is_in(owners.implode()), "RP_OTRO_RFC")
        ).alias("codigo"),
        "rfc_ok",
        "rfc_digito_ok",
        (pl.col("codigo").is_null() & pl.col("_digito_malo")).alias("rp_digito_malo"),
    )


def validate_entries(
    entries: pl.DataFrame,
    existing: Existing | None = None,
    *,
    rp_digito_warning: bool = False,
    sync: bool = False,
) -> Validated:
    """``entries`` from :func:`schemas.entries.extract_entries`, concatenated, with ``orden``.

    Per-value rules first (the libraries run once per distinct value and come back as lookups),
    then RP ownership, then the per-scope limits. A rule's code is kept only if no earlier rule
    gave one. ``sync``: see :func:`kept_by_upload`.
    """
    existing = existing or Existing()
    if not entries["orden"].is_sorted():
        entries = entries.sort("orden")
    starts, run_of = _runs(entries)
    runs = entries.select("rfc_valor", "rp_valor").filter(starts)
    rfcs = runs.select(pl.col("rfc_valor").unique()).with_columns(
        nz.rfc_compact("rfc_valor").alias("rfc")
    )
    narrow = entries.lazy().select("orden", "mecanismo", "valor")
    queries = [_mail_query(narrow), _phone_query(narrow), _rp_query(runs.lazy())]
    with ThreadPoolExecutor(max_workers=1) as pool:
        rfc_checked = pool.submit(nz.rfc_checks, rfcs["rfc"])
        mails, phones, runs = pl.collect_all(queries)
        rfcs = rfcs.join(rfc_checked.result(), on="rfc", how="left")
        # Identities and media are independent: side by side (each is mostly polars).
        identified = pool.submit(
            _identities, runs, rfcs, existing, rp_digito_warning=rp_digito_warning
        )
        media = _media(entries, mails, phones)
        ids = identified.result().select(pl.all().gather(run_of))

    # Side by side without copying: the entries' own columns, the identities, the media.
    work = entries.select("orden", "mecanismo", "mecanismo_columna", "valor").hstack(ids)
    work = work.hstack(media).with_columns(
        pl.coalesce(
            "codigo",
            _first_code(
                [
                    (
                        pl.col("mecanismo_columna").is_not_null() & pl.col("mecanismo").is_null(),
                        "MECANISMO_INVALIDO",
                    ),
                    (pl.col("valor").is_null(), "SIN_MEDIO"),
                ]
            ),
            "codigo_medio",
        ).alias("codigo")
    )
    candidates = (
        work.select("orden", "rfc", "rp", "mecanismo", "medio", "codigo")
        .filter(pl.col("codigo").is_null())
        .drop("codigo")
    )
    if sync:
        existing = kept_by_upload(existing, candidates)
    limits = scope_limits(candidates, existing)
    orden = pl.col("orden")
    over = limits.over
    over_mail = over.filter(pl.col("mecanismo") == "correo")["orden"]
    over_phone = over.filter(pl.col("mecanismo") == "telefono")["orden"]
    final = work.select(
        pl.coalesce(
            "codigo",
            pl.when(orden.is_in(over_mail.implode()))
            .then(_CODE["CORREOS_EXCEDIDOS"])
            .when(orden.is_in(over_phone.implode()))
            .then(_CODE["TELEFONO_EXCEDIDO"]),
        ).alias("n"),
        orden.is_in(limits.repeated.implode()).alias("repetido"),
    )
    number = final["n"]
    df = entries.with_columns(
        ids["rfc"],
        ids["rp"],
        media["medio"],
        pl.Series("codigo", _CODES, dtype=pl.String).gather(number),
        pl.Series("mensaje", list(RECHAZOS.values()), dtype=pl.String).gather(number),
        (number.is_null() & final["repetido"]).alias("duplicado"),
        ids["rfc_ok"],
        ids["rfc_digito_ok"],
        ids["rp_digito_malo"],
    )
    return Validated(entries=_tidy(df), warnings=_warnings(df, existing))


def kept_by_upload(existing: Existing, candidates: pl.DataFrame) -> Existing:
    """Under ``apply --sync``: the registry's active scopes that the upload keeps.

    ``--sync`` removes every active medium (and scope) of an RFC that the upload does not list, so
    before the limits are checked those count as gone: a new mobile replaces the old one, a sixth
    email one of five, in one run. A medium the upload lists again still counts first in its scope
    (it is kept, not registered anew). RP owners are unaffected: sync never moves an RP.
    ``candidates``: the entries that passed the earlier rules, {rfc, rp, mecanismo, medio}.
    """
    # A null RP (the RFC scope) must match a null RP: joined on the RP with nulls as "".
    scope = pl.col("rp").fill_null("").alias("_rp")
    keys = ["rfc", "_rp", "mecanismo", "medio"]
    listed = candidates.select("rfc", scope, "mecanismo", "medio").unique()
    kept = existing.active.with_columns(scope).join(listed, on=keys, how="semi").drop("_rp")
    return Existing(rp_owner=existing.rp_owner, active=kept)


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
