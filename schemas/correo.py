"""Email address (correo electrónico) for the Buzón IMSS.

Syntax per ``email-validator`` without DNS look-ups; trimmed; compared case-insensitively, so the
compact form is lower-case.

>>> validate(' Nomina@Empresa.COM.MX ')
'nomina@empresa.com.mx'
>>> is_valid('nomina@@empresa.mx')
False
"""

from __future__ import annotations

import re

import email_validator

from buzon.errors import InvalidFormat

_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)


def compact(address: str) -> str:
    """Trim, drop a ``mailto:`` and lower-case.

    >>> compact('  mailto:RH@Empresa.mx')
    'rh@empresa.mx'
    """
    return _MAILTO.sub("", str(address).strip()).strip().lower()


def validate(address: str) -> str:
    """Return the compact address or raise :class:`~buzon.errors.InvalidFormat`."""
    address = compact(address)
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidFormat(f"correo no válido: {exc}", valor=address) from None
    return address


def is_valid(address: str) -> bool:
    try:
        return bool(validate(address))
    except InvalidFormat:
        return False


def format(address: str) -> str:  # noqa: A001 - stdnum's name
    return compact(address)
