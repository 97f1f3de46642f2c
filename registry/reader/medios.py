"""Who owns each RP, which media are active in which scopes, one medium by its value.

Every question is asked the same way: keys sorted, cut into :func:`registry.sql.batches`, and
matched with :func:`registry.sql.in_list` (one array parameter on PostgreSQL). Active media are
read by the RFC of the medium and their scopes by the scope's own (indexed) ``rfc`` column, not
by a join: scopes of terminal media are dropped in memory, which costs less than the join.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Row, select

from registry.sql import batches, in_list
from registry.states import ACTIVOS
from registry.tables import alcances, medios, particulares, registros_patronales
from schemas.limits import Existing

Clave = tuple[str, str, str]  # (rfc, mecanismo, medio)
Alcance = str | None  # rp, or None for the RFC scope


@dataclass
class Activo:
    """One active medium as the registry holds it."""

    id: int
    estado: str
    folio: str
    alcances: set[Alcance] = field(default_factory=set)


def _activos() -> list[str]:
    return sorted(ACTIVOS)


def _read_map(conn: Connection, key: Any, value: Any, keys: Sequence[str]) -> dict[str, Any]:
    """``{key: value}`` for the rows whose ``key`` column is one of ``keys``."""
    found: dict[str, Any] = {}
    for part in batches(sorted(set(keys))):
        rows = conn.execute(select(key, value).where(in_list(conn, key, part)))
        found.update((k, v) for k, v in rows)
    return found


def read_duenos(conn: Connection, rps: Sequence[str]) -> dict[str, str]:
    """The registered owner (RFC) of each of ``rps`` that the registry knows."""
    return _read_map(conn, registros_patronales.c.rp, registros_patronales.c.rfc, rps)


def read_nombres(conn: Connection, rfcs: Sequence[str]) -> dict[str, str | None]:
    """The registered particulares among ``rfcs``, with their names (None: no name yet)."""
    return _read_map(conn, particulares.c.rfc, particulares.c.nombre, rfcs)


def _batches_activos(
    conn: Connection, rfcs: Sequence[str]
) -> Iterator[tuple[list[Row[Any]], list[Row[Any]]]]:
    """Per batch of RFCs: (active media rows, scope rows of every medium of those RFCs)."""
    for part in batches(sorted(set(rfcs))):
        media = conn.execute(
            select(
                medios.c.id,
                medios.c.rfc,
                medios.c.mecanismo,
                medios.c.valor,
                medios.c.estado,
                medios.c.folio,
            ).where(in_list(conn, medios.c.rfc, part), medios.c.estado.in_(_activos()))
        ).all()
        scopes = conn.execute(
            select(alcances.c.medio_id, alcances.c.rp).where(in_list(conn, alcances.c.rfc, part))
        ).all()
        yield media, scopes


def read_activos(conn: Connection, rfcs: Sequence[str]) -> dict[Clave, Activo]:
    """Active media of ``rfcs`` with their scopes, by (rfc, mecanismo, medio)."""
    activos: dict[Clave, Activo] = {}
    for media, scopes in _batches_activos(conn, rfcs):
        por_id: dict[int, Activo] = {}
        for mid, rfc, mecanismo, valor, estado, folio in media:
            a = por_id[mid] = Activo(id=mid, estado=estado, folio=folio)
            activos[(rfc, mecanismo, valor)] = a
        for mid, rp in scopes:
            a = por_id.get(mid)
            if a is not None:  # a terminal medium's scope
                a.alcances.add(rp)
    return activos


def read_alcances_activos(conn: Connection, rfcs: Sequence[str]) -> pl.DataFrame:
    """One row per scope of every active medium of ``rfcs``: {rfc, rp (null: RFC scope),
    mecanismo, medio} (the shape of :class:`schemas.limits.Existing`'s ``active``)."""
    media_parts: list[pl.DataFrame] = []
    scope_parts: list[pl.DataFrame] = []
    for media, scopes in _batches_activos(conn, rfcs):
        media_parts.append(
            pl.DataFrame(
                [r[:4] for r in media],
                schema={
                    "id": pl.Int64,
                    "rfc": pl.String,
                    "mecanismo": pl.String,
                    "medio": pl.String,
                },
                orient="row",
            )
        )
        scope_parts.append(
            pl.DataFrame(
                [tuple(r) for r in scopes], schema={"id": pl.Int64, "rp": pl.String}, orient="row"
            )
        )
    schema = {"rfc": pl.String, "rp": pl.String, "mecanismo": pl.String, "medio": pl.String}
    if not media_parts:
        return pl.DataFrame(schema=schema)
    joined = pl.concat(media_parts).join(pl.concat(scope_parts), on="id", how="inner")
    return joined.select(list(schema))


def find_medio(conn: Connection, rfc: str, mecanismo: str, medio: str) -> Row[Any] | None:
    """The active medium (rfc, mecanismo, medio) with every ``medios`` column, or None.

    ``rfc`` and ``medio`` are expected in stored form (:func:`schemas.rfc.compact`,
    :func:`schemas.medio.compact`); at most one medium can match (``uq_medios_activo``).
    """
    return conn.execute(
        select(medios).where(
            medios.c.rfc == rfc,
            medios.c.mecanismo == mecanismo,
            medios.c.valor == medio,
            medios.c.estado.in_(_activos()),
        )
    ).first()


def read_rps(conn: Connection, medio_id: int) -> list[str]:
    """The RPs a medium is associated with, sorted (its RFC scope is not listed)."""
    rows = conn.execute(
        select(alcances.c.rp)
        .where(alcances.c.medio_id == medio_id, alcances.c.rp.is_not(None))
        .order_by(alcances.c.rp)
    )
    return list(rows.scalars())


def registro_reader(bind: Connection | Engine) -> Callable[[list[str], list[str]], Existing]:
    """What plan's limits count, read from ``bind``: ``(rfcs, rps) -> schemas.limits.Existing``.

    ``rp_owner`` holds the registered owner of each given RP; ``active`` one row per scope of
    every active medium of the given RFCs.
    """

    def read(rfcs: list[str], rps: list[str]) -> Existing:
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                return _existing(conn, rfcs, rps)
        return _existing(bind, rfcs, rps)

    return read


def _existing(conn: Connection, rfcs: list[str], rps: list[str]) -> Existing:
    duenos = read_duenos(conn, rps)
    owners = pl.DataFrame(
        {"rp": list(duenos), "rfc": list(duenos.values())},
        schema={"rp": pl.String, "rfc": pl.String},
    )
    return Existing(rp_owner=owners, active=read_alcances_activos(conn, rfcs))
