"""The one reader of the registry: every question other packages ask the store about media.

- :mod:`registry.reader.medios`: RP owners, active media with their scopes, folio and state,
  one medium by (rfc, mecanismo, medio), and what plan's limits count (:func:`registro_reader`).
- :mod:`registry.reader.diff`: what applying one chunk of entries would change (apply's diff).
- :mod:`registry.reader.estados`: media counts by state, per RFC and per RP (``buzon status``).
- :mod:`registry.reader.reporte`: everything ``buzon report`` reads (frames per table, acuses
  streamed for PDFs and bundles, the T&C texts, the last upload's rejections).
- :mod:`registry.reader.recordatorios`: media due a reminder before their deadline
  (``buzon recordar``).
- :mod:`registry.reader.reenvios`: the pending media a resend acts on, one mobile's live send.
- :mod:`registry.reader.todos`: every registered RP of given RFCs (an RP cell «TODOS»).

Writes live elsewhere; nothing here changes the store.
"""

from registry.reader.diff import Cambios, read_cambios
from registry.reader.estados import count_estados
from registry.reader.medios import (
    Activo,
    Alcance,
    Clave,
    find_medio,
    read_activos,
    read_alcances_activos,
    read_duenos,
    read_nombres,
    read_rps,
    registro_reader,
)
from registry.reader.recordatorios import (
    PorRecordar,
    read_por_recordar,
    read_recordatorios_pendientes,
)
from registry.reader.todos import rps_loader

__all__ = [
    "Activo",
    "Alcance",
    "Cambios",
    "Clave",
    "PorRecordar",
    "count_estados",
    "find_medio",
    "read_activos",
    "read_alcances_activos",
    "read_cambios",
    "read_duenos",
    "read_nombres",
    "read_por_recordar",
    "read_recordatorios_pendientes",
    "read_rps",
    "registro_reader",
    "rps_loader",
]
