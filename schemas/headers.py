"""Header recognition: which column holds what, ignoring case, accents, spaces and punctuation."""

from __future__ import annotations

import re
import unicodedata

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


def role(text: str | None) -> str | None:
    """The role of a header cell, or None if it is not one we know.

    >>> role('Correo 3'), role('Teléfono móvil'), role('Reg. patronal'), role('Notas')
    ('correo', 'telefono', 'rp', None)
    """
    key = normalize(text)
    if not key:
        return None
    if key in _LOOKUP:
        return _LOOKUP[key]
    match = _NUMBERED.match(key)
    if match:
        return _LOOKUP[match.group(1)]
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
