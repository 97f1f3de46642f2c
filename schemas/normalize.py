"""Vectorized normalizers: the same rules as the identifier modules, as polars expressions.

Per-value Python calls cannot keep up with a million entries, so each rule runs as an expression
and the libraries (stdnum, email-validator, phonenumbers) are called once per *distinct* value, TLD
or prefix, only where the expression alone cannot decide. ``tests/schemas`` checks that these agree
with the identifier modules value by value.

Expressions are written so that no sub-expression is used twice inside one expression: polars
evaluates a repeated sub-expression once per use. Where a value is needed several times, a
``*_parts`` function materializes it as a column first.
"""

from __future__ import annotations

import email_validator
import phonenumbers
import polars as pl

from schemas import rfc as rfc_module

# An ASCII dot-atom local part, one "@", and an ASCII LDH domain (labels of 1-63 characters, a
# letters-only top-level label). For such an address email-validator has one domain check left,
# the special-use names ("test", "local", "invalid"...), which the top-level label decides.
_EMAIL_FAST = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def rfc_compact(col: str) -> pl.Expr:
    return pl.col(col).str.replace_all(r"[\s\-_]", "").str.to_uppercase().str.strip_chars()


def rfc_checks(values: pl.Series) -> pl.DataFrame:
    """For each distinct compact RFC: valid? check digit ok? (stdnum, once per distinct value)."""
    rows = [(value, *rfc_module.checks(value)) for value in values.drop_nulls().unique().to_list()]
    return pl.DataFrame(
        rows,
        schema={"rfc": pl.String, "rfc_ok": pl.Boolean, "rfc_digito_ok": pl.Boolean},
        orient="row",
    )


def rp_compact(col: str) -> pl.Expr:
    return pl.col(col).str.replace_all(r"[\s\-_.]", "").str.to_uppercase()


_RP_FORMAT = r"^[A-Z0-9][0-9]{10}$"


def rp_format_ok(col: str) -> pl.Expr:
    return pl.col(col).str.contains(_RP_FORMAT)


def rp_is_compact(col: str) -> pl.Expr:
    """Values :func:`rp_compact` leaves as they are, as most are: 11 characters of the right
    shape (nothing to strip, nothing to upper-case). False for null."""
    return rp_format_ok(col).fill_null(False)


def _texts(values: list[str]) -> pl.Expr:
    """A list of strings as an ``is_in`` argument (typed even when empty)."""
    return pl.lit(pl.Series(values, dtype=pl.String).implode())


def _luhn_double(digit: pl.Expr) -> pl.Expr:
    return digit * 2 - 9 * (digit >= 5).cast(pl.Int64)


def rp_check_digit_parts(col: str) -> list[pl.Expr]:
    """First step of :func:`rp_check_digit_ok_from_parts`: the RP as one integer.

    An RP of the right shape (:func:`rp_format_ok`) read as a base-36 number: each character's
    value (0-9, A=10 ... Z=35) is then taken out with integer arithmetic, which is several times
    faster than a string slice per position. Null for any other value.
    """
    value = pl.col(col)
    return [
        pl.when(rp_format_ok(col))
        .then(value.str.to_integer(base=36, strict=False))
        .alias("_rp_numero")
    ]


def rp_check_digit_ok_from_parts() -> pl.Expr:
    """Whether an RP of the right shape has the right check digit (False for any other value).

    Luhn over the first 10 characters, a leading letter expanded to two digits (A=10 ... Z=35):
    a digit head is the 10th digit from the right (not doubled); a letter head adds two digits,
    the first of them doubled.
    """
    number = pl.col("_rp_numero")

    def char(k: int) -> pl.Expr:  # value of the k-th character (0-based) of 11
        return number // 36 ** (10 - k) % 36

    head = char(0)
    total = pl.when(head < 10).then(head).otherwise(_luhn_double(head // 10) + head % 10)
    for k in range(1, 10):
        # Counting from the right of the payload, positions 9, 7, 5, 3, 1 are doubled.
        total = total + (_luhn_double(char(k)) if k % 2 else char(k))
    return ((10 - total % 10) % 10 == char(10)).fill_null(False)


def rp_flags(frame: pl.DataFrame, col: str) -> pl.DataFrame:
    """``frame`` plus ``rp_forma_ok`` and ``rp_digito_ok`` for the compact RPs in ``col``."""
    return (
        frame.with_columns(rp_format_ok(col).alias("rp_forma_ok"), *rp_check_digit_parts(col))
        .with_columns(rp_check_digit_ok_from_parts().alias("rp_digito_ok"))
        .drop("_rp_numero")
    )


# After "+52" lost its "+": a country code with the legacy mobile 1, a bare country code, or the
# legacy 044/045 (mobile) and 01 (long distance) prefixes, each in front of exactly 10 characters.
_PHONE_PREFIXES = r"^(?:521(.{10})|52(.{10})|04[45](.{10})|01(.{10}))$"


def phone_compact(col: str) -> pl.Expr:
    """Same steps as :func:`schemas.telefono.compact`, as one flat chain (no repeated branches).

    Run it on the mobile values only: on a column that is mostly nulls it is twice as slow.
    """
    value = pl.col(col).str.strip_chars()
    value = value.str.replace(r"^(\d+)\.0+$", "$1")
    value = value.str.replace_all(r"[\s\-.()/]", "")
    value = value.str.replace(r"^\+52", "52")
    return value.str.replace(_PHONE_PREFIXES, "${1}${2}${3}${4}")


def phone_is_compact(col: str) -> pl.Expr:
    """Values :func:`phone_compact` leaves as they are, as most are: 10 ASCII digits (nothing to
    strip, no prefix: those make 12 or 13). False for null."""
    return pl.col(col).str.contains(r"^[0-9]{10}$").fill_null(False)


def phone_shape_ok(col: str) -> pl.Expr:
    value = pl.col(col)
    return (
        value.str.contains(r"^[2-9][0-9]{9}$")
        & ~value.str.starts_with("800")
        & ~value.str.starts_with("900")
    )


def _phone_valid(number: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(number, "MX"))


def phone_verdicts(shaped: pl.Series) -> tuple[list[str], list[str]]:
    """``phonenumbers`` on well-shaped numbers: the valid 3-digit prefixes, plus exact numbers.

    Mexico's plan decides validity by the leading digits (the area code), so one call per 3-digit
    prefix would do; to stay right if the metadata ever says otherwise, two distinct numbers per
    prefix (its smallest and largest) are checked, and a prefix whose answers differ is decided
    number by number: its valid numbers come back as the second list.
    """
    frame = pl.DataFrame({"medio": shaped}).drop_nulls()
    samples = frame.group_by(pl.col("medio").str.slice(0, 3).alias("p")).agg(
        pl.col("medio").min().alias("a"), pl.col("medio").max().alias("b")
    )
    good: list[str] = []
    mixed: list[str] = []
    for prefix, low, high in samples.iter_rows():
        answers = {_phone_valid(low), _phone_valid(high)}
        if len(answers) > 1:
            mixed.append(prefix)
        elif answers.pop():
            good.append(prefix)
    exact = (
        frame.filter(pl.col("medio").str.slice(0, 3).is_in(_texts(mixed)))["medio"]
        .unique()
        .to_list()
        if mixed
        else []
    )
    return good, [number for number in exact if _phone_valid(number)]


def phone_ok(col: str, good_prefixes: list[str], good_numbers: list[str]) -> pl.Expr:
    """Per row of ``col`` (compact numbers): a usable mobile, given :func:`phone_verdicts`."""
    value = pl.col(col)
    ok = value.str.slice(0, 3).is_in(_texts(good_prefixes))
    if good_numbers:
        ok = ok | value.is_in(_texts(good_numbers))
    return (phone_shape_ok(col) & ok).fill_null(False)


def phone_plan_ok(values: pl.Series) -> pl.DataFrame:
    """``phonenumbers`` validity for each distinct well-shaped number: {medio, plan_ok}."""
    frame = pl.DataFrame({"medio": values.drop_nulls().unique()})
    good, exact = phone_verdicts(frame["medio"])
    return frame.select("medio", phone_ok("medio", good, exact).alias("plan_ok"))


# _EMAIL_FAST in either case: such a value has no space and no "mailto:" (no ":"), so its compact
# form is just its lower case, which matches _EMAIL_FAST.
_EMAIL_PLAIN = _EMAIL_FAST.replace("a-z", "a-zA-Z")


def email_is_plain(col: str) -> pl.Expr:
    """Values whose :func:`email_compact` is their lower case and matches the fast shape (as most
    do). False for null."""
    return pl.col(col).str.contains(_EMAIL_PLAIN).fill_null(False)


def email_compact(col: str) -> pl.Expr:
    """Trim, lower-case, drop one leading ``mailto:``, trim (as :func:`schemas.correo.compact`).

    Lower-casing before the prefix is removed gives the same result as a case-insensitive
    ``mailto:`` (no other character folds to its letters) and is a plain prefix test.
    """
    return (
        pl.col(col)
        .str.strip_chars()
        .str.to_lowercase()
        .str.strip_prefix("mailto:")
        .str.strip_chars()
    )


def _special_use_multilabel() -> list[str]:
    return [d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES if "." in d]


def _email_ok(address: str) -> bool:
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


def _email_fast_rest(value: pl.Expr) -> pl.Expr:
    """The conditions of the fast shape beyond :data:`_EMAIL_FAST`."""
    fast = (
        (value.str.len_bytes() <= 254)
        & (value.str.find("@", literal=True) <= 64)
        & ~value.str.contains("--", literal=True)
    )
    for special in _special_use_multilabel():  # none today; if the list grows, go the slow way
        fast = fast & ~value.str.ends_with("@" + special) & ~value.str.ends_with("." + special)
    return fast


def email_parts(col: str, *, plain: bool = False) -> list[pl.Expr]:
    """``_rapido`` (email-validator's verdict follows from the top-level label) and ``_tld``.

    Fast: :data:`_EMAIL_FAST`, at most 254 bytes, a local part of at most 64 (the "@" is at byte
    64 or before; the address is ASCII) and no ``--`` anywhere (Punycode and reserved R-LDH
    labels; a local part with ``--`` merely takes the slow road). ``plain=True``: the values are
    known to match :data:`_EMAIL_FAST` (the compact forms of :func:`email_is_plain` values).
    """
    value = pl.col(col)
    fast = _email_fast_rest(value)
    if not plain:
        fast = value.str.contains(_EMAIL_FAST) & fast
    return [fast.fill_null(False).alias("_rapido"), value.str.extract(r"[a-z]+$", 0).alias("_tld")]


def email_verdicts(frame: pl.DataFrame, col: str) -> tuple[list[str], list[str]]:
    """email-validator asked once per TLD (with a real address of it) and once per other address.

    ``frame`` holds the addresses in ``col`` with the :func:`email_parts` columns. Returns the
    good TLDs (for fast addresses) and the good other addresses.
    """
    fast = frame.filter(pl.col("_rapido"))
    samples = fast.group_by("_tld").agg(pl.col(col).first())
    good_tlds = [tld for tld, address in samples.iter_rows() if _email_ok(address)]
    slow = frame.filter(~pl.col("_rapido"))[col].drop_nulls().unique().to_list()
    return good_tlds, [address for address in slow if _email_ok(address)]


def email_verdict(col: str, good_tlds: list[str], good_slow: list[str]) -> pl.Expr:
    """Per row: email-validator's verdict from the :func:`email_parts` columns and the lookups."""
    by_tld = pl.col("_tld").is_in(_texts(good_tlds))
    by_value = pl.col(col).is_in(_texts(good_slow))
    return pl.when(pl.col("_rapido")).then(by_tld).otherwise(by_value).fill_null(False)


def email_ok(values: pl.Series) -> pl.DataFrame:
    """email-validator's verdict for each distinct compact address: {medio, correo_ok}."""
    frame = pl.DataFrame({"medio": values.drop_nulls().unique()})
    frame = frame.with_columns(email_parts("medio"))
    good_tlds, good_slow = email_verdicts(frame, "medio")
    return frame.select("medio", email_verdict("medio", good_tlds, good_slow).alias("correo_ok"))
