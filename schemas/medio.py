"""A contact medium typed by a person (``--medio`` of ``buzon baja`` and ``buzon resend``).

The one place that decides which mechanism a free-form value names and its stored form, using
the identifier modules' own normalizers: anything with an ``@`` is an email
(:func:`schemas.correo.compact`: trimmed, ``mailto:`` dropped, lower-cased), anything else a
mobile (:func:`schemas.telefono.compact`: 10 digits, country code and legacy prefixes dropped).

>>> compact(' mailto:RH@Empresa.mx ')
('correo', 'rh@empresa.mx')
>>> compact('01 55 1234 5678'), compact('+52 1 55 1234 5678')
(('telefono', '5512345678'), ('telefono', '5512345678'))
>>> compact('(55) 1234-5678'), compact('5512345678.0')
(('telefono', '5512345678'), ('telefono', '5512345678'))
"""

from __future__ import annotations

from schemas import correo, telefono


def compact(valor: str) -> tuple[str, str]:
    """``(mecanismo, medio)``: the mechanism ``valor`` names and the form the registry stores."""
    if "@" in str(valor):
        return "correo", correo.compact(valor)
    return "telefono", telefono.compact(valor)
