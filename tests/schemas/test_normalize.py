"""The vectorized normalizers agree with the identifier modules, value by value, on a corpus.

A property-style test: a seeded generator mixes valid identifiers with every kind of damage
(punctuation, case, legacy prefixes, Excel floats, wrong lengths, wrong check digits, odd
characters), and each polars expression must give exactly what the per-value module gives.
"""

from __future__ import annotations

import random
import string

import polars as pl
import pytest
from stdnum.mx.rfc import calc_check_digit as rfc_check_digit

from schemas import correo, registro_patronal, rfc, telefono
from schemas import normalize as nz

SEEDS = [1, 2, 3]
N = 600


def _noise(rnd: random.Random, value: str) -> str:
    """Damage a value the way uploads do (or leave it alone)."""
    choice = rnd.randrange(12)
    if choice == 0 and value:
        i = rnd.randrange(len(value))
        return value[:i] + value[i + 1 :]
    if choice == 1:
        return value + rnd.choice(string.ascii_letters + string.digits)
    if choice == 2:
        return value.lower()
    if choice == 3:
        return f" {value}\t"
    if choice == 4 and value:
        i = rnd.randrange(len(value))
        return value[:i] + rnd.choice("-_. /()ñÑ&@") + value[i:]
    if choice == 5 and value:
        i = rnd.randrange(len(value))
        return value[:i] + rnd.choice(string.ascii_uppercase + string.digits) + value[i + 1 :]
    return value


def rfc_corpus(rnd: random.Random) -> list[str]:
    out = [
        "",
        "XAXX010101000",
        "XEXX010101000",
        "GODE561231",
        "EKU9003173C9",
        "ABC680524P76",
        "AB&680524P7",
        "ÑEKU900317",
    ]
    for _ in range(N):
        letters = "".join(
            rnd.choice("ABCDEFGHIJKLMNÑOPQRSTUVWXYZ&") for _ in range(rnd.choice([3, 4]))
        )
        date = f"{rnd.randint(0, 99):02d}{rnd.randint(0, 13):02d}{rnd.randint(0, 32):02d}"
        homo = "".join(rnd.choice(string.ascii_uppercase + string.digits) for _ in range(2))
        digit = rfc_check_digit(letters + date + homo) if rnd.random() < 0.7 else rnd.choice("0A9")
        value = letters + date + homo + digit
        if rnd.random() < 0.3:
            value = f"{value[:-9]}-{value[-9:-3]}-{value[-3:]}"
        out.append(_noise(rnd, value))
    return out


def rp_corpus(rnd: random.Random) -> list[str]:
    out = ["", "Y3926552104", "Y39-26552-10-4", "YY926552104", "ñ3926552104"]
    for _ in range(N):
        head = rnd.choice(string.ascii_uppercase + string.digits)
        payload = head + "".join(rnd.choice(string.digits) for _ in range(9))
        value = payload + (
            registro_patronal.calc_check_digit(payload) if rnd.random() < 0.7 else rnd.choice("05")
        )
        if rnd.random() < 0.3:
            value = registro_patronal.format(value)
        out.append(_noise(rnd, value))
    return out


def phone_corpus(rnd: random.Random) -> list[str]:
    out = ["", "5512345678.0", "8001234567", "9001234567", "0551234567", "+1 555 123 4567"]
    for _ in range(N):
        area = rnd.choice(["55", "33", "81", "222", "999", "800", "900", "01", "1", "44", "664"])
        number = (area + "".join(rnd.choice(string.digits) for _ in range(10)))[:10]
        style = rnd.randrange(9)
        if style == 0:
            number = f"+52 1 {number[:2]} {number[2:6]} {number[6:]}"
        elif style == 1:
            number = f"+52{number}"
        elif style == 2:
            number = f"044 {number}"
        elif style == 3:
            number = f"045{number}"
        elif style == 4:
            number = f"01 {number}"
        elif style == 5:
            number = f"{number}.0"
        elif style == 6:
            number = f"({number[:2]}) {number[2:6]}-{number[6:]}"
        elif style == 7:
            number = f"52{number}"
        out.append(_noise(rnd, number))
    return out


def email_corpus(rnd: random.Random) -> list[str]:
    out = [
        "",
        "a@b",
        "a@localhost",
        "a@dominio.invalid",
        "josé@empresa.mx",
        "a@xn--dominio.mx",
        "a@sub.test",
        "a@ab--cd.mx",
        "a@sub.local",
        "a@x.onion",
        "a@b.arpa",
        "x" * 65 + "@a.mx",
        "a@" + "b" * 64 + ".mx",
        "mailto:A@B.MX",
        '"quoted"@kumo.mx',
        "a@[127.0.0.1]",
        "a@-kumo.mx",
        "a@kumo-.mx",
        "a@kumo.123",
    ]
    locals_ = ["nomina", "rh", "Direccion.General", "a+b", "x_y", "o'neil", "ñandu", "a..b", ".a"]
    domains = [
        "kumo.mx",
        "Empresa.COM.MX",
        "gmail.com",
        "example.com",
        "sub.dominio.org.mx",
        "kumo",
        "ku mo.mx",
        "kümo.mx",
        "local",
        "ejemplo.test",
    ]
    for _ in range(N):
        value = f"{rnd.choice(locals_)}{rnd.choice(['', '1', '.2024'])}@{rnd.choice(domains)}"
        if rnd.random() < 0.1:
            value = f"mailto:{value}"
        out.append(_noise(rnd, value))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_rfc_expressions_agree(seed: int) -> None:
    values = rfc_corpus(random.Random(seed))
    compact = pl.DataFrame({"v": values}).select(nz.rfc_compact("v").alias("rfc"))["rfc"]
    checks = {r: (ok, dig) for r, ok, dig in nz.rfc_checks(compact).iter_rows()}
    for value, got in zip(values, compact.to_list(), strict=True):
        assert got == rfc.compact(value), value
        ok, digit_ok = checks[got]
        assert ok == rfc.is_valid(value), value
        if ok:
            assert digit_ok == rfc.check_digit_ok(value), value


@pytest.mark.parametrize("seed", SEEDS)
def test_rp_expressions_agree(seed: int) -> None:
    values = rp_corpus(random.Random(seed))
    frame = nz.rp_flags(pl.DataFrame({"v": values}).select(nz.rp_compact("v").alias("rp")), "rp")
    for value, (got, forma, digito) in zip(values, frame.iter_rows(), strict=True):
        assert got == registro_patronal.compact(value), value
        assert forma == bool(registro_patronal._FORMAT.match(got)), value
        # The check digit is judged only on an RP of the right shape.
        assert digito == (forma and registro_patronal.is_valid(value)), value


@pytest.mark.parametrize("seed", SEEDS)
def test_phone_expressions_agree(seed: int) -> None:
    values = phone_corpus(random.Random(seed))
    frame = pl.DataFrame({"v": values}).select(nz.phone_compact("v").alias("medio"))
    frame = frame.with_columns(nz.phone_shape_ok("medio").alias("forma"))
    plan = nz.phone_plan_ok(frame.filter(pl.col("forma"))["medio"])
    frame = frame.join(plan, on="medio", how="left", maintain_order="left")
    for value, (got, forma, plan_ok) in zip(values, frame.iter_rows(), strict=True):
        assert got == telefono.compact(value), value
        assert bool(forma and plan_ok) == telefono.is_valid(value), value


@pytest.mark.parametrize("seed", SEEDS)
def test_email_expressions_agree(seed: int) -> None:
    values = email_corpus(random.Random(seed))
    compact = pl.DataFrame({"v": values}).select(nz.email_compact("v").alias("medio"))["medio"]
    verdict = dict(nz.email_ok(compact).iter_rows())
    for value, got in zip(values, compact.to_list(), strict=True):
        assert got == correo.compact(value), value
        assert verdict[got] == correo.is_valid(value), value


def test_phone_plan_decides_mixed_prefixes_number_by_number() -> None:
    # Same 3-digit prefix, different verdicts would force the exact path; whatever the metadata
    # says, the answer must equal phonenumbers' own.
    numbers = pl.Series(["5512345678", "5587654321", "2221234567", "9991234567", "4421234567"])
    got = dict(nz.phone_plan_ok(numbers).iter_rows())
    assert got == {n: telefono.is_valid(n) for n in numbers}


@pytest.mark.parametrize("seed", SEEDS)
def test_plain_values_skip_compaction(seed: int) -> None:
    # The validation compacts only the values these predicates reject; the others must already be
    # what compaction would give (emails: their lower case, with the same fast-path parts).
    rnd = random.Random(seed)
    emails = pl.DataFrame({"v": email_corpus(rnd)}).with_columns(
        nz.email_is_plain("v").alias("plain"), nz.email_compact("v").alias("compact")
    )
    plain = emails.filter("plain").with_columns(pl.col("v").str.to_lowercase().alias("lower"))
    assert plain.height > N / 5  # the corpus exercises the plain path
    for value, lower in plain.select("v", "lower").iter_rows():
        assert lower == correo.compact(value), value
    fast = plain.select(nz.email_parts("lower", plain=True))
    assert fast.equals(plain.select(nz.email_parts("compact")))

    phones = pl.DataFrame({"v": phone_corpus(rnd)}).filter(nz.phone_is_compact("v"))
    assert phones.height > N / 20
    assert all(value == telefono.compact(value) for value in phones["v"])

    rps = pl.DataFrame({"v": rp_corpus(rnd)}).filter(nz.rp_is_compact("v"))
    assert rps.height > N / 5
    assert all(value == registro_patronal.compact(value) for value in rps["v"])
