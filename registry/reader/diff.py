"""What applying one chunk of accepted entries would change (apply's diff): read-only.

A chunk holds every entry of its RFCs, so per-RFC rules (``--sync``) are decided within it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from registry.audit import origen_fila
from registry.reader.medios import Activo, Alcance, Clave, read_activos, read_duenos, read_nombres


@dataclass
class Deseado:
    """One medium as the upload wants it."""

    # Provenance as an index into the chunk's entries, formatted only when written (audit).
    alcances: dict[Alcance, int] = field(default_factory=dict)  # scope -> first entry
    origen: int = 0


@dataclass
class Cambios:
    """Everything one chunk changes. Empty lists mean a re-apply (nothing to do)."""

    nombres: dict[str, str | None]
    particulares_nuevos: list[tuple[str, str | None, str]]  # rfc, nombre, origen
    nombres_faltantes: list[tuple[str, str]]  # rfc, nombre (registry had none)
    rps_nuevos: list[tuple[str, str, str]]  # rp, rfc, origen
    nuevos: list[tuple[Clave, Deseado]]
    actualizados: list[tuple[Clave, Activo, dict[Alcance, int], set[Alcance]]]  # +entry, -set
    bajas: list[tuple[Clave, Activo]]
    sin_cambio: int
    rp_ajeno: int  # entries dropped: their RP belongs to another RFC (a race with the plan)
    filas: list[Entrada] = field(default_factory=list)

    def origen(self, i: int) -> str:
        """The ``archivo:hoja:fila`` of entry ``i`` of the chunk."""
        f = self.filas[i]
        return origen_fila(f[5], f[6], f[7])

    @property
    def vacio(self) -> bool:
        return not (
            self.particulares_nuevos
            or self.nombres_faltantes
            or self.rps_nuevos
            or self.nuevos
            or self.actualizados
            or self.bajas
        )


Entrada = tuple[str, str | None, str | None, str, str, str, str | None, int | None]
"""rfc, nombre, rp, mecanismo, medio, archivo, hoja, fila."""


def read_cambios(conn: Connection, entradas: Iterable[Entrada], *, sync: bool) -> Cambios:
    """Compare one chunk's entries (file order) with the registry."""
    nombres: dict[str, str | None] = {}
    primer_origen: dict[str, str] = {}
    rp_dueno: dict[str, tuple[str, str]] = {}
    deseados: dict[Clave, Deseado] = {}
    filas = list(entradas)
    for rfc, nombre, rp, _mec, _medio, archivo, hoja, fila in filas:
        if rfc not in primer_origen:
            primer_origen[rfc] = origen_fila(archivo, hoja, fila)
        if nombres.get(rfc) is None:
            nombres[rfc] = nombre
        if rp is not None and rp not in rp_dueno:
            rp_dueno[rp] = (rfc, origen_fila(archivo, hoja, fila))

    rfcs = sorted(nombres)
    registrados = read_nombres(conn, rfcs)
    duenos = read_duenos(conn, list(rp_dueno))

    rp_ajeno = 0
    for i, (rfc, _nombre, rp, mecanismo, medio, _a, _h, _f) in enumerate(filas):
        if rp is not None and duenos.get(rp, rp_dueno[rp][0]) != rfc:
            rp_ajeno += 1
            continue
        d = deseados.get((rfc, mecanismo, medio))
        if d is None:
            d = deseados[(rfc, mecanismo, medio)] = Deseado(origen=i)
        if rp not in d.alcances:
            d.alcances[rp] = i

    activos = read_activos(conn, rfcs)

    nuevos, actualizados, sin_cambio = [], [], 0
    for clave, d in deseados.items():
        a = activos.get(clave)
        if a is None:
            nuevos.append((clave, d))
            continue
        mas = {s: o for s, o in d.alcances.items() if s not in a.alcances}
        menos = (a.alcances - set(d.alcances)) if sync else set()
        if mas or menos:
            actualizados.append((clave, a, mas, menos))
        else:
            sin_cambio += 1
    bajas = [(clave, a) for clave, a in activos.items() if clave not in deseados] if sync else []
    return Cambios(
        nombres=nombres,
        particulares_nuevos=[
            (rfc, nombres[rfc], primer_origen[rfc]) for rfc in rfcs if rfc not in registrados
        ],
        nombres_faltantes=[
            (rfc, nombres[rfc])  # type: ignore[misc]
            for rfc in rfcs
            if rfc in registrados and registrados[rfc] is None and nombres[rfc] is not None
        ],
        rps_nuevos=[(rp, rfc, o) for rp, (rfc, o) in rp_dueno.items() if rp not in duenos],
        nuevos=nuevos,
        actualizados=actualizados,
        bajas=bajas,
        sin_cambio=sin_cambio,
        rp_ajeno=rp_ajeno,
        filas=filas,
    )
