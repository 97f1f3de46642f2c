"""One clock rule: every instant is stored and compared in UTC, and shown in Mexico City time.

SQLite keeps no UTC offset (SQLAlchemy writes the wall time of whatever datetime it is given), so a
``2026-06-15T12:00:00-06:00`` stored as is would read back as noon UTC, six hours early. Every
instant is therefore converted to UTC before it reaches the database: by the column type
:class:`registry.tables.Instante` for SQLAlchemy statements, and by :func:`db_value` /
:func:`db_text` for the DB-API hot paths (prepared statements, ``executemany``, ``COPY``). Naive
instants (event files without an offset, old rows) are taken as UTC. Readers get aware UTC back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

MEXICO = ZoneInfo("America/Mexico_City")
# SQLAlchemy's own SQLite storage format (naive UTC, microseconds), so both paths write one form.
SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def utc(instant: datetime) -> datetime:
    """The same instant as an aware UTC datetime (naive means UTC).

    >>> from datetime import timedelta, timezone
    >>> utc(datetime(2026, 6, 15, 12, tzinfo=timezone(timedelta(hours=-6))))
    datetime.datetime(2026, 6, 15, 18, 0, tzinfo=datetime.timezone.utc)
    >>> utc(datetime(2026, 6, 15, 18))
    datetime.datetime(2026, 6, 15, 18, 0, tzinfo=datetime.timezone.utc)
    """
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def db_text(instant: datetime) -> str:
    """The SQLite text of an instant (UTC, the format SQLAlchemy writes).

    >>> from datetime import timedelta, timezone
    >>> db_text(datetime(2026, 6, 15, 12, tzinfo=timezone(timedelta(hours=-6))))
    '2026-06-15 18:00:00.000000'
    """
    # isoformat is several times cheaper than strftime and gives the same text.
    return utc(instant).replace(tzinfo=None).isoformat(" ", "microseconds")


def db_value(dialect: str, instant: datetime | None) -> object:
    """What a raw DB-API statement binds for an instant: SQLite text, else aware UTC."""
    if instant is None:
        return None
    return db_text(instant) if dialect == "sqlite" else utc(instant)


def local(instant: datetime) -> datetime:
    """The instant in Mexico City time, for what people read.

    >>> local(datetime(2024, 8, 8, 17, 42, 45, tzinfo=UTC)).isoformat()
    '2024-08-08T11:42:45-06:00'
    """
    return utc(instant).astimezone(MEXICO)
