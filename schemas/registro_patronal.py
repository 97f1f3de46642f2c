"""Registro Patronal (RP, número de registro patronal del IMSS).

The RP identifies an employer's workplace before the IMSS. It has 11 characters: 3 for the
municipio/subdelegación (the first may be a letter), 5 for the serie, 2 for the modalidad and one
check digit. The check digit is Luhn over the first 10 characters after a leading letter is
expanded to its two-digit value (A=10 ... Z=35). No library validates it, hence this module,
written in the style of ``python-stdnum``.

>>> validate('Y39-26552-10-4')
'Y3926552104'
>>> validate('B1212338103')
Traceback (most recent call last):
    ...
buzon.errors.InvalidChecksum: dígito verificador incorrecto
>>> format('Y3926552104')
'Y39-26552-10-4'
"""

from __future__ import annotations

import re

from buzon.errors import InvalidChecksum, InvalidFormat, InvalidLength

_FORMAT = re.compile(r"^[A-Z0-9][0-9]{10}$")
_STRIP = re.compile(r"[\s\-_.]")


def compact(number: str) -> str:
    """Upper-case and drop spaces, hyphens, underscores and dots.

    >>> compact(' y39 26552 10-4 ')
    'Y3926552104'
    """
    return _STRIP.sub("", str(number)).upper()


def _digits(payload: str) -> str:
    head = payload[0]
    return (str(ord(head) - ord("A") + 10) if head.isalpha() else head) + payload[1:]


def calc_check_digit(payload: str) -> str:
    """The check digit for the first 10 characters.

    >>> calc_check_digit('B121233810')
    '2'
    """
    total = 0
    for i, char in enumerate(reversed(_digits(payload))):
        value = int(char)
        if i % 2 == 0:  # rightmost payload digit is doubled, as in Luhn
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def validate(number: str) -> str:
    """Return the compact RP or raise InvalidLength / InvalidFormat / InvalidChecksum."""
    number = compact(number)
    if len(number) != 11:
        raise InvalidLength("el registro patronal debe tener 11 caracteres", valor=number)
    if not _FORMAT.match(number):
        raise InvalidFormat(
            "el registro patronal lleva 11 dígitos (el primero puede ser letra)", valor=number
        )
    if calc_check_digit(number[:10]) != number[10]:
        raise InvalidChecksum("dígito verificador incorrecto")
    return number


def is_valid(number: str) -> bool:
    """Whether ``number`` is a valid RP.

    >>> is_valid('Y3926552104'), is_valid('Y3926552105')
    (True, False)
    """
    try:
        return bool(validate(number))
    except (InvalidLength, InvalidFormat, InvalidChecksum):
        return False


def format(number: str) -> str:  # noqa: A001 - stdnum's name
    """The conventional display form ``XXX-XXXXX-XX-X``."""
    number = compact(number)
    return "-".join((number[:3], number[3:8], number[8:10], number[10:]))
