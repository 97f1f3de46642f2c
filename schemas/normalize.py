"""Vectorized normalizers: the same rules as the identifier modules, as polars expressions.

Per-value Python calls cannot keep up with a million entries, so each rule runs as an expression and
the libraries (stdnum, email-validator, phonenumbers) are called once per *distinct* value, domain or
prefix, only where the expression alone cannot decide. ``tests/schemas`` checks that these agree with
the identifier modules value by value.
"""

from __future__ import annotations

import string

import email_validator
import phonenumbers
import polars as pl

from schemas import rfc as rfc_module

_LETTER_VALUE = {ch: str(i + 10) for i, ch in enumerate(string.ascii_uppercase)}

# An ASCII dot-atom local part: whatever matches it email-validator accepts too.
_LOCAL_FAST = r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$"
_DOMAIN_FAST = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


def rfc_compact(col: str) -> pl.Expr:
    return pl.col(col).str.replace_all(r"[\s\-_]", "").str.to_uppercase().str.strip_chars()


def rfc_checks(values: pl.Series) -> pl.DataFrame:
    """For each distinct compact RFC: valid? check digit ok? (stdnum, once per distinct value)."""
    rows = []
    for value in values.drop_nulls().unique().to_list():
        valid = rfc_module.is_valid(value)
        rows.append((value, valid, rfc_module.check_digit_ok(value) if valid else True))
    return pl.DataFrame(
        rows, schema={"rfc": pl.String, "rfc_ok": pl.Boolean, "rfc_digito_ok": pl.Boolean}, orient="row"
    )


def rp_compact(col: str) -> pl.Expr:
    return pl.col(col).str.replace_all(r"[\s\-_.]", "").str.to_uppercase()


def rp_format_ok(col: str) -> pl.Expr:
    return pl.col(col).str.contains(r"^[A-Z0-9][0-9]{10}$")


def rp_check_digit_ok(col: str) -> pl.Expr:
    """Luhn over the first 10 characters, a leading letter expanded to two digits (A=10 ... Z=35)."""
    head = pl.col(col).str.slice(0, 1)
    expanded = pl.concat_str(
        head.replace_strict(_LETTER_VALUE, default=head, return_dtype=pl.String),
        pl.col(col).str.slice(1, 9),
    )
    reversed_digits = expanded.str.reverse()
    total = pl.lit(0, dtype=pl.Int32)
    for i in range(11):
        digit = reversed_digits.str.slice(i, 1).cast(pl.Int32, strict=False).fill_null(0)
        if i % 2 == 0:
            digit = digit * 2
            digit = pl.when(digit > 9).then(digit - 9).otherwise(digit)
        total = total + digit
    check = ((10 - total % 10) % 10).cast(pl.String)
    return check == pl.col(col).str.slice(10, 1)


def phone_compact(col: str) -> pl.Expr:
    """Same steps as :func:`schemas.telefono.compact`."""
    value = pl.col(col).str.strip_chars().str.replace(r"^(\d+)\.0+$", "$1")
    value = value.str.replace_all(r"[\s\-.()/]", "")
    value = pl.when(value.str.starts_with("+52")).then(value.str.slice(1)).otherwise(value)
    n = value.str.len_chars()
    return (
        pl.when((n == 13) & value.str.starts_with("521"))
        .then(value.str.slice(3))
        .when((n == 12) & value.str.starts_with("52"))
        .then(value.str.slice(2))
        .when((n == 13) & (value.str.starts_with("044") | value.str.starts_with("045")))
        .then(value.str.slice(3))
        .when((n == 12) & value.str.starts_with("01"))
        .then(value.str.slice(2))
        .otherwise(value)
    )


def phone_shape_ok(col: str) -> pl.Expr:
    value = pl.col(col)
    return (
        value.str.contains(r"^[2-9][0-9]{9}$")
        & ~value.str.starts_with("800")
        & ~value.str.starts_with("900")
    )


def _phone_valid(number: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(number, "MX"))


def phone_plan_ok(values: pl.Series) -> pl.DataFrame:
    """``phonenumbers`` validity for each distinct well-shaped number.

    Mexico's plan decides validity by the leading digits (the area code), so one call per 3-digit
    prefix would do; to stay right if the metadata ever says otherwise, two numbers per prefix are
    checked and a prefix whose answers differ is decided number by number.
    """
    distinct = values.drop_nulls().unique()
    frame = pl.DataFrame({"medio": distinct}).with_columns(pl.col("medio").str.slice(0, 3).alias("p"))
    samples = frame.group_by("p").agg(pl.col("medio").head(2))
    decided: dict[str, bool] = {}
    mixed: set[str] = set()
    for prefix, numbers in samples.iter_rows():
        answers = {_phone_valid(n) for n in numbers}
        if len(answers) == 1:
            decided[prefix] = answers.pop()
        else:
            mixed.add(prefix)
    out = frame.with_columns(
        pl.col("p").replace_strict(decided, default=None, return_dtype=pl.Boolean).alias("plan_ok")
    )
    if mixed:
        exact = {n: _phone_valid(n) for n in out.filter(pl.col("p").is_in(mixed))["medio"]}
        out = out.with_columns(
            pl.when(pl.col("p").is_in(mixed))
            .then(pl.col("medio").replace_strict(exact, default=False, return_dtype=pl.Boolean))
            .otherwise(pl.col("plan_ok"))
            .alias("plan_ok")
        )
    return out.select("medio", "plan_ok")


def email_compact(col: str) -> pl.Expr:
    return (
        pl.col(col)
        .str.strip_chars()
        .str.replace(r"(?i)^mailto:", "")
        .str.strip_chars()
        .str.to_lowercase()
    )


def _email_ok(address: str) -> bool:
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


def email_ok(values: pl.Series) -> pl.DataFrame:
    """email-validator's verdict for each distinct compact address.

    A plain ASCII local part under a plain domain is decided by asking email-validator once per
    distinct domain (special-use domains and the like); anything else goes to email-validator whole.
    """
    frame = pl.DataFrame({"medio": values.drop_nulls().unique()}).with_columns(
        pl.col("medio").str.split_exact("@", 1).struct.rename_fields(["local", "dominio"]).alias("s"),
        (pl.col("medio").str.count_matches("@") == 1).alias("one_at"),
        (pl.col("medio").str.len_bytes() <= 254).alias("short"),
    ).unnest("s")
    fast = (
        pl.col("one_at")
        & pl.col("short")
        & (pl.col("local").str.len_bytes() <= 64)
        & pl.col("local").str.contains(_LOCAL_FAST)
        & pl.col("dominio").str.contains(_DOMAIN_FAST)
    )
    frame = frame.with_columns(fast.fill_null(False).alias("fast"))
    domains = frame.filter(pl.col("fast"))["dominio"].unique().to_list()
    domain_ok = {d: _email_ok(f"a@{d}") for d in domains}
    slow = frame.filter(~pl.col("fast"))["medio"].to_list()
    slow_ok = {m: _email_ok(m) for m in slow}
    return frame.select(
        "medio",
        pl.when(pl.col("fast"))
        .then(pl.col("dominio").replace_strict(domain_ok, default=False, return_dtype=pl.Boolean))
        .otherwise(pl.col("medio").replace_strict(slow_ok, default=False, return_dtype=pl.Boolean))
        .alias("correo_ok"),
    )
