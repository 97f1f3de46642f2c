"""Folios ``BI-YYYYMMDD-HHMMSSmmm``: unique forever, increasing, thousands per second.

The single ``folio_reloj`` row holds the last millisecond handed out. A caller locks it (``SELECT
... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), takes a
block of ``n`` consecutive milliseconds starting at ``max(now, last + 1)`` and stores the block's
end. Two blocks never overlap, so folios never collide, whatever the number of processes; during a
burst the folio clock runs ahead of the wall clock and falls back in step when the burst ends.
The unique constraints on ``medios.folio`` and ``acuses.folio`` are the last line of defence.
See docs/FOLIOS_Y_ACUSES.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, update

from registry.clock import MEXICO
from registry.sql import insert
from registry.tables import folio_reloj

TZ = MEXICO
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(now: datetime) -> int:
    return (now - _EPOCH) // timedelta(milliseconds=1)


def format_folio(ms: int) -> str:
    """The folio for an instant given in milliseconds since the epoch.

    >>> format_folio(1723138965846)
    'BI-20240808-114245846'
    """
    local = (_EPOCH + timedelta(milliseconds=ms)).astimezone(TZ)
    return f"BI-{local:%Y%m%d-%H%M%S}{ms % 1000:03d}"


def lock(conn: Connection) -> int:
    """Lock the folio clock for the rest of the transaction; return the last millisecond used."""
    conn.execute(insert(conn, folio_reloj).values(id=1, ultimo_ms=0).on_conflict_do_nothing())
    return conn.execute(
        select(folio_reloj.c.ultimo_ms).where(folio_reloj.c.id == 1).with_for_update()
    ).scalar_one()


def allocate(conn: Connection, n: int, now: datetime) -> list[str]:
    """``n`` new folios, consecutive milliseconds from ``max(now, last + 1)``, in increasing order.

    Must run inside the caller's transaction: the block is only taken if that transaction commits.
    """
    if n <= 0:
        return []
    last = lock(conn)
    start = max(_ms(now), last + 1)
    conn.execute(update(folio_reloj).where(folio_reloj.c.id == 1).values(ultimo_ms=start + n - 1))
    return format_many(start, n)


def format_many(start: int, n: int) -> list[str]:
    """``format_folio`` of ``n`` consecutive milliseconds from ``start``; vectorized in polars,
    since a reconciliation may need a hundred thousand at once.

    >>> format_many(1723138965846, 2)
    ['BI-20240808-114245846', 'BI-20240808-114245847']
    """
    if n < 1000:
        return [format_folio(ms) for ms in range(start, start + n)]
    import polars as pl

    return (
        pl.int_range(start, start + n, dtype=pl.Int64, eager=True)
        .cast(pl.Datetime("ms", "UTC"))
        .dt.convert_time_zone(TZ.key)
        .dt.strftime("BI-%Y%m%d-%H%M%S%3f")
        .to_list()
    )
