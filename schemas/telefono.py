"""Mexican mobile number (celular) for the Buzón IMSS.

Since 2019 Mexico has one 10-digit national plan with no mobile/fixed distinction. Uploads carry
every historical spelling: ``+52 1 55 1234 5678``, ``044 55 1234 5678``, ``(55) 1234-5678``, or
``5512345678.0`` when Excel stored it as a number. :func:`compact` reduces them to 10 digits before
``phonenumbers`` (which rejects the legacy prefixes) is asked.

>>> validate('+52 1 (55) 1234-5678')
'5512345678'
>>> format('5512345678')
'+525512345678'
>>> validate('800 123 4567')
Traceback (most recent call last):
    ...
buzon.errors.InvalidComponent: es un número 800 (sin costo), no un celular
"""

from __future__ import annotations

import re

import phonenumbers

from buzon.errors import InvalidComponent, InvalidFormat, InvalidLength

_EXCEL_FLOAT = re.compile(r"^(\d+)\.0+$")
_PUNCTUATION = re.compile(r"[\s\-.()/]")


def compact(number: str) -> str:
    """Strip punctuation, the ``+52``/``52`` country code, the legacy mobile ``1`` and the legacy
    ``044``/``045``/``01`` prefixes.

    >>> compact('044 55 1234 5678'), compact('5512345678.0'), compact('+52 1 55 1234 5678')
    ('5512345678', '5512345678', '5512345678')
    """
    number = str(number).strip()
    number = _EXCEL_FLOAT.sub(r"\1", number)
    number = _PUNCTUATION.sub("", number)
    if number.startswith("+"):
        number = number[1:] if number.startswith("+52") else number
    if len(number) == 13 and number.startswith("521"):
        number = number[3:]
    elif len(number) == 12 and number.startswith("52"):
        number = number[2:]
    elif len(number) == 13 and number.startswith(("044", "045")):
        number = number[3:]
    elif len(number) == 12 and number.startswith("01"):
        number = number[2:]
    return number


def _prefix_check(number: str) -> None:
    if not number.isdigit():
        raise InvalidFormat("el celular solo lleva dígitos (10)", valor=number)
    if len(number) != 10:
        raise InvalidLength("el celular debe tener 10 dígitos", valor=number)
    if number[0] in "01":
        raise InvalidFormat("un celular no empieza con 0 ni con 1", valor=number)
    if number.startswith("800"):
        raise InvalidComponent("es un número 800 (sin costo), no un celular")
    if number.startswith("900"):
        raise InvalidComponent("es un número 900 (tarifa especial), no un celular")


def validate(number: str) -> str:
    """Return the 10 digits or raise a specific :class:`~buzon.errors.IdentifierError`."""
    number = compact(number)
    _prefix_check(number)
    if not phonenumbers.is_valid_number(phonenumbers.parse(number, "MX")):
        raise InvalidComponent("no es un número válido del plan de numeración de México")
    return number


def is_valid(number: str) -> bool:
    """Whether ``number`` is a usable Mexican mobile.

    >>> is_valid('55 1234 5678'), is_valid('1234')
    (True, False)
    """
    try:
        return bool(validate(number))
    except (InvalidFormat, InvalidLength, InvalidComponent):
        return False


def format(number: str) -> str:  # noqa: A001 - stdnum's name
    """E.164, as the SMS gateway wants it."""
    return "+52" + compact(number)
