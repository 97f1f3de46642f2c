"""What applying one chunk of accepted entries would change: read-only, set-based.

A chunk holds every entry of its RFCs, so per-RFC rules (``--sync``) are decided within it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from registry.audit import origen_fila
from registry.sql import batches, in_list
from registry.states import ACTIVOS
from registry.tables import alcances, medios, particulares, registros_patronales

ACTIVOS_SQL = sorted(str(e) for e in ACTIVOS)

Clave = tuple[str, str, str]  # (rfc, mecanismo, medio)
Alcance = str | None  # rp, or None for the RFC scope


@dataclass
class Deseado:
    """One medium as the upload wants it."""

    # Provenance as an index into the chunk's entries, formatted only when written (audit).
    alcances: dict[Alcance, int] = field(default_factory=dict)  # scope -> first entry
    origen: int = 0


@dataclass
class Activo:
    """One active medium as the registry holds it."""

    id: int
    estado: str
    alcances: set[Alcance] = field(default_factory=set)


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


def calcular(conn: Connection, entradas: Iterable[Entrada], *, sync: bool) -> Cambios:
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
    registrados: dict[str, str | None] = {}
    for part in batches(rfcs):
        rows = conn.execute(
            select(particulares.c.rfc, particulares.c.nombre).where(
                in_list(conn, particulares.c.rfc, part)
            )
        ).all()
        registrados.update({r: n for r, n in rows})
    duenos: dict[str, str] = {}
    for part in batches(sorted(rp_dueno)):
        rows = conn.execute(
            select(registros_patronales.c.rp, registros_patronales.c.rfc).where(
                in_list(conn, registros_patronales.c.rp, part)
            )
        ).all()
        duenos.update({rp: rfc for rp, rfc in rows})

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

    activos = leer_activos(conn, rfcs)

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


def leer_activos(conn: Connection, rfcs: list[str]) -> dict[Clave, Activo]:
    """Active media of ``rfcs`` with their scopes, by (rfc, mecanismo, valor)."""
    activos: dict[Clave, Activo] = {}
    por_id: dict[int, Activo] = {}
    for part in batches(rfcs):
        rows = conn.execute(
            select(
                medios.c.id, medios.c.rfc, medios.c.mecanismo, medios.c.valor, medios.c.estado
            ).where(in_list(conn, medios.c.rfc, part), medios.c.estado.in_(ACTIVOS_SQL))
        ).all()
        for mid, rfc, mecanismo, valor, estado in rows:
            a = Activo(id=mid, estado=estado)
            activos[(rfc, mecanismo, valor)] = a
            por_id[mid] = a
        # By the scope's own rfc column (indexed), not a join: terminal media are skipped below.
        scopes = conn.execute(
            select(alcances.c.medio_id, alcances.c.rp).where(in_list(conn, alcances.c.rfc, part))
        ).all()
        for mid, rp in scopes:
            if mid in por_id:
                por_id[mid].alcances.add(rp)
    return activos
