"""Header recognition: which column holds what, ignoring case, accents, spaces and punctuation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

# A header mapped by hand to "ignorar": a known column that holds nothing to register.
IGNORAR = "ignorar"

# Normalized header text -> role. Email and mobile columns may repeat ("Correo 1" ... "Correo N").
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "rfc": ("rfc",),
    "nombre": ("razonsocial", "nombre", "nombreorazonsocial", "denominacionorazonsocial"),
    "rp": ("registropatronal", "regpatronal", "nrp", "rp"),
    "correo": ("correo", "correoelectronico", "email", "e-mail"),
    "telefono": ("celular", "telefonocelular", "telefonomovil", "movil", "telefono"),
    "mecanismo": ("mecanismo", "mecanismodecomunicacion"),
    "medio": ("medio", "mediodecontacto"),
}
_LOOKUP = {syn.replace("-", ""): role for role, syns in _SYNONYMS.items() for syn in syns}
_NUMBERED = re.compile(r"^(correo|correoelectronico|email|celular|telefonocelular|telefono)\d+$")


def normalize(text: str | None) -> str:
    """Lower-case, strip accents, keep letters and digits only.

    >>> normalize(' Correo  Electrónico 1 '), normalize('R.F.C.'), normalize('E-mail')
    ('correoelectronico1', 'rfc', 'email')
    """
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", stripped.lower())


# The headers people really write (issue 11), after normalize(): "Núm. Registro Patronal",
# "No. Registro Patronal", "Número de Registro Patronal", "Registros patronales", "Registro
# Patronal IMSS", "Reg Pat", "Mail", "E-mail", "Tel. Celular", "Número celular", "Celular (10
# dígitos)", "Correo electrónico empresa", each optionally numbered ("Correo 2").
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"^(num|no|nro|numero|n)?(de|del)?(registros?patronal(es)?|regpat(ronal)?|nrp)"
            r"(imss|del?imss)?\d*$"
        ),
        "rp",
    ),
    (re.compile(r"^(correo|email|mail)[a-z]*\d*$"), "correo"),
    (
        re.compile(r"^(tel|telefono|num|no|numero)?(de)?(celular|movil)(\d+digitos|[a-z]*)?\d*$"),
        "telefono",
    ),
)

# The fields a person can map a header to by hand (``--columna "ENCABEZADO=campo"``) -> role.
CAMPOS: dict[str, str] = {
    "rfc": "rfc",
    "nombre": "nombre",
    "registro_patronal": "rp",
    "correo": "correo",
    "celular": "telefono",
    "mecanismo": "mecanismo",
    "medio": "medio",
    "ignorar": IGNORAR,
}


def role(text: str | None, manual: Mapping[str, str] | None = None) -> str | None:
    """The role of a header cell, or None if it is not one we know.

    ``manual`` maps normalized headers to roles (``--columna``) and wins over the rest.

    >>> role('Correo 3'), role('Teléfono móvil'), role('Reg. patronal'), role('Notas')
    ('correo', 'telefono', 'rp', None)
    >>> [role(h) for h in ('Núm. Registro Patronal', 'Registros patronales', 'NRP',
    ...  'Registro Patronal IMSS', 'Reg Pat', 'Número de Registro Patronal')]
    ['rp', 'rp', 'rp', 'rp', 'rp', 'rp']
    >>> [role(h) for h in ('Mail', 'E-mail', 'Correo electrónico empresa', 'Tel. Celular',
    ...  'Número celular', 'Celular (10 dígitos)', 'Teléfono fijo')]
    ['correo', 'correo', 'correo', 'telefono', 'telefono', 'telefono', None]
    >>> role('Notas', {'notas': 'rp'})
    'rp'
    """
    key = normalize(text)
    if not key:
        return None
    if manual and key in manual:
        return manual[key]
    if key in _LOOKUP:
        return _LOOKUP[key]
    match = _NUMBERED.match(key)
    if match:
        return _LOOKUP[match.group(1)]
    for pattern, found in _PATTERNS:
        if pattern.match(key):
            return found
    return None


MECANISMOS: dict[str, str] = {
    "correo": "correo",
    "correoelectronico": "correo",
    "email": "correo",
    "telefono": "telefono",
    "telefonocelular": "telefono",
    "telefonomovil": "telefono",
    "celular": "telefono",
    "movil": "telefono",
}
