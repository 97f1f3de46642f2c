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

import re

from stdnum import exceptions as stdnum_exceptions
from stdnum.mx import rfc as _rfc

from buzon.errors import InvalidComponent, InvalidFormat, InvalidLength

_STRIP = re.compile(r"[\s\-_]")
_HOMOCLAVE = re.compile(r"^[1-9A-V][1-9A-Z][0-9A]$")
GENERIC = frozenset({"XAXX010101000", "XEXX010101000"})


def compact(number: str) -> str:
    """Upper-case and drop whitespace (tabs and no-break spaces too), hyphens and underscores.

    >>> compact(' eku-900317_3c9\u00a0')
    'EKU9003173C9'
    """
    return _STRIP.sub("", str(number)).upper().strip()


def validate(number: str) -> str:
    """Return the compact RFC or raise; the check digit is not enforced."""
    number = compact(number)
    if number in GENERIC:
        raise InvalidComponent("RFC genérico: no identifica a un particular")
    if len(number) not in (12, 13):
        # stdnum also accepts the 10-character RFC without homoclave; the Buzón needs it whole.
        raise InvalidLength("el RFC debe tener 12 (moral) o 13 (física) caracteres", valor=number)
    try:
        return _rfc.validate(number, validate_check_digits=False)
    except stdnum_exceptions.ValidationError as exc:
        raise InvalidFormat(f"RFC no válido: {exc.message}", valor=number) from None


def is_valid(number: str) -> bool:
    try:
        return bool(validate(number))
    except (InvalidFormat, InvalidLength, InvalidComponent):
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


def checks(number: str) -> tuple[bool, bool]:
    """``(is_valid(number), check_digit_ok(number))`` with one pass of the rules, for bulk use.

    >>> checks('ABC680524P76'), checks('XAXX010101000')
    ((True, False), (False, True))
    """
    try:
        number = validate(number)
    except (InvalidFormat, InvalidLength, InvalidComponent):
        return False, True
    # stdnum's own check-digit rule: only homoclaves of the assigned shape carry a check digit.
    if not _HOMOCLAVE.match(number[-3:]):
        return True, True
    return True, number[-1] == _rfc.calc_check_digit(number[:-1])


def format(number: str) -> str:  # noqa: A001 - stdnum's name
    return compact(number)
