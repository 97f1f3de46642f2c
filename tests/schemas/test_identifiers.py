"""The identifier modules (stdnum style): compact, validate, is_valid, format, and their errors."""

from __future__ import annotations

import pytest

from buzon.errors import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from schemas import correo, registro_patronal, rfc, telefono


@pytest.mark.parametrize(
    ("raw", "compact"),
    [
        ("EKU9003173C9", "EKU9003173C9"),
        ("eku-900317-3c9", "EKU9003173C9"),
        (" EKU 900317 3C9 ", "EKU9003173C9"),
        ("eku_900317_3c9", "EKU9003173C9"),
        ("EKU\t900317\u00a03C9", "EKU9003173C9"),
        ("gode561231gr8", "GODE561231GR8"),
    ],
)
def test_rfc_compact_and_validate(raw: str, compact: str) -> None:
    assert rfc.compact(raw) == compact
    assert rfc.validate(raw) == compact
    assert rfc.is_valid(raw)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("XAXX010101000", InvalidComponent),  # público en general
        ("XEXX010101000", InvalidComponent),  # extranjeros
        ("xaxx-010101-000", InvalidComponent),
        ("GODE561231", InvalidLength),  # without homoclave: stdnum takes it, the Buzón does not
        ("EKU90031", InvalidLength),
        ("", InvalidLength),
        ("EKU9013173C9", InvalidFormat),  # month 13
        ("EK19003173C9", InvalidFormat),
        ("EKU9003173C9X", InvalidFormat),  # 13 chars with only 3 letters
    ],
)
def test_rfc_rejections(raw: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        rfc.validate(raw)
    assert not rfc.is_valid(raw)


def test_rfc_check_digit_is_only_reported() -> None:
    assert rfc.is_valid("ABC680524P76")
    assert not rfc.check_digit_ok("ABC680524P76")
    assert rfc.check_digit_ok("EKU9003173C9")
    assert rfc.check_digit_ok("EKU9003173C8") is False
    assert rfc.format(" eku-900317-3c9") == "EKU9003173C9"


@pytest.mark.parametrize(
    "raw",
    [
        "Y3926552104",
        "Y39-26552-10-4",
        "y39 26552 10 4",
        "Y39.26552.10.4",
        "B1212338102",
        "B12_12338_10_2",
    ],
)
def test_rp_valid_spellings(raw: str) -> None:
    assert registro_patronal.is_valid(raw)
    assert len(registro_patronal.validate(raw)) == 11


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("Y392655210", InvalidLength),
        ("Y39265521044", InvalidLength),
        ("YY926552104", InvalidFormat),  # only the first character may be a letter
        ("Y39265521O4", InvalidFormat),
        ("Y3926552105", InvalidChecksum),
        ("B1212338103", InvalidChecksum),
    ],
)
def test_rp_rejections(raw: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        registro_patronal.validate(raw)
    assert not registro_patronal.is_valid(raw)


def test_rp_check_digit_expands_a_leading_letter() -> None:
    # Y = 34: Luhn over "34" + "392655210" gives 4.
    assert registro_patronal.calc_check_digit("Y392655210") == "4"
    assert registro_patronal.calc_check_digit("0000000000") == "0"
    digits = registro_patronal.calc_check_digit("1234567890")
    assert registro_patronal.is_valid("1234567890" + digits)
    assert registro_patronal.format("y3926552104") == "Y39-26552-10-4"


@pytest.mark.parametrize(
    ("raw", "national"),
    [
        ("5512345678", "5512345678"),
        ("5512345678.0", "5512345678"),  # Excel number cell
        ("5512345678.00", "5512345678"),
        ("+52 1 55 1234 5678", "5512345678"),
        ("+5215512345678", "5512345678"),
        ("521 55 1234 5678", "5512345678"),
        ("+52 55 1234 5678", "5512345678"),
        ("52 55 1234 5678", "5512345678"),
        ("044 55 1234 5678", "5512345678"),
        ("045 33 3615 0000", "3336150000"),
        ("01 81 5555 1234", "8155551234"),
        ("(55) 1234-5678", "5512345678"),
        ("55.1234.5678", "5512345678"),
        ("55/1234/5678", "5512345678"),
        ("222 123 4567", "2221234567"),
    ],
)
def test_mobile_normalization(raw: str, national: str) -> None:
    assert telefono.compact(raw) == national
    assert telefono.validate(raw) == national
    assert telefono.format(raw) == "+52" + national


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("800 123 4567", InvalidComponent),  # toll-free
        ("01 800 123 4567", InvalidComponent),
        ("900 123 4567", InvalidComponent),  # premium
        ("0551234567", InvalidFormat),
        ("1551234567", InvalidFormat),
        ("55 1234 567", InvalidLength),
        ("55123456789", InvalidLength),
        ("+1 555 123 4567", InvalidFormat),  # another country keeps its '+'
        ("55 1234 567a", InvalidFormat),
        ("5512345678.5", InvalidLength),  # not a whole number
    ],
)
def test_mobile_rejections(raw: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        telefono.validate(raw)
    assert not telefono.is_valid(raw)


@pytest.mark.parametrize(
    ("raw", "compact"),
    [
        ("Nomina@Empresa.COM.MX", "nomina@empresa.com.mx"),
        ("  rh@kumo.mx\t", "rh@kumo.mx"),
        ("mailto:RH@Kumo.mx", "rh@kumo.mx"),
        ("MAILTO: rh@kumo.mx", "rh@kumo.mx"),
        ("nombre.apellido+buzon@sub.dominio.mx", "nombre.apellido+buzon@sub.dominio.mx"),
    ],
)
def test_email_compact_is_case_insensitive(raw: str, compact: str) -> None:
    assert correo.compact(raw) == compact
    assert correo.validate(raw) == compact
    assert correo.format(raw) == compact


@pytest.mark.parametrize(
    "raw",
    [
        "nomina@@kumo.mx",
        "nomina.kumo.mx",
        "a..b@kumo.mx",
        ".a@kumo.mx",
        "a@kumo",
        "a@localhost",
        "a@dominio.invalid",
        "a@ku mo.mx",
        "",
        "@kumo.mx",
    ],
)
def test_email_rejections(raw: str) -> None:
    with pytest.raises(InvalidFormat):
        correo.validate(raw)
    assert not correo.is_valid(raw)
