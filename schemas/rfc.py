"""RFC (Registro Federal de Contribuyentes) rules of the Buzón IMSS on top of ``stdnum.mx.rfc``.

stdnum knows the format (12 characters for a persona moral, 13 for a física) and the check digit.
About 1.5% of RFCs really in use fail the check digit, so a mismatch is only a warning here. The
generic RFCs (público en general, extranjeros) are not particulares and are rejected.

>>> validate('eku-900317-3c9')
'EKU9003173C9'
>>> check_digit_ok('EKU9003173C8')
False
>>> validate('XAXX010101000')
Traceback (most recent call last):
    ...
buzon.errors.InvalidComponent: RFC genérico: no identifica a un particular
"""

from __future__ import annotations

from stdnum import exceptions as stdnum_exceptions
from stdnum.mx import rfc as _rfc

from buzon.errors import InvalidComponent, InvalidFormat

GENERIC = frozenset({"XAXX010101000", "XEXX010101000"})


def compact(number: str) -> str:
    return _rfc.compact(str(number))


def validate(number: str) -> str:
    """Return the compact RFC or raise; the check digit is not enforced."""
    number = compact(number)
    if number in GENERIC:
        raise InvalidComponent("RFC genérico: no identifica a un particular")
    try:
        return _rfc.validate(number, validate_check_digits=False)
    except stdnum_exceptions.ValidationError as exc:
        raise InvalidFormat(f"RFC no válido: {exc.message}", valor=number) from None


def is_valid(number: str) -> bool:
    try:
        return bool(validate(number))
    except (InvalidFormat, InvalidComponent):
        return False


def check_digit_ok(number: str) -> bool:
    """Whether the homoclave's check digit matches (a warning when not)."""
    try:
        _rfc.validate(compact(number), validate_check_digits=True)
    except stdnum_exceptions.InvalidChecksum:
        return False
    except stdnum_exceptions.ValidationError:
        return True  # other failures are validate()'s business
    return True


def format(number: str) -> str:  # noqa: A001 - stdnum's name
    return compact(number)
