"""Phase (c) at full speed: recording outcomes with group commit and no thread hand-off.

Each sender records its outcome itself before it sends its next message (so a kill -9 leaves at
most one accepted-but-unrecorded message per sender). The writes go through one database
connection; the sender that finds it free commits every outcome queued so far, its own and any
other sender's, in one transaction, and the others find theirs already committed (group commit
by "flat combining": no recorder thread, so no two thread wake-ups per message).

Acceptances (the common case) are written with prepared statements straight on the DB-API
connection (outbox rows, then ``registry.transitions.ENVIAR`` and its audit rows through
:func:`delivery.outbox.enviar`); building and compiling SQLAlchemy statements cost several times
more than SQLite executing them. Any failure in a group sends the whole group
through :func:`delivery.outbox.record`, the general (and slower) path.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from buzon.errors import DeliveryError
from buzon.settings import Settings
from delivery import outbox
from delivery.outbox import Due, Outcome
from registry.clock import db_value

_OUTBOX_SENT = (
    "UPDATE outbox SET estado = 'enviado', enviado_en = ?, intentos = ?, error = NULL "
    "WHERE id = ? AND estado = 'pendiente'"
)


_CHECKPOINT_PAGES = 10_000


class _Item:
    __slots__ = ("done", "error", "failure", "row")

    def __init__(self, row: Due, error: DeliveryError | None) -> None:
        self.row = row
        self.error = error
        self.done = False
        self.failure: BaseException | None = None


class Recorder:
    """Records outcomes for every sender thread of one dispatch; see the module docstring."""

    def __init__(self, engine: Engine, settings: Settings, stats: Any) -> None:
        self.engine = engine
        self.settings = settings
        self.stats = stats  # has sent / retried / failed counters
        self.conn = engine.connect()
        self.sqlite = engine.dialect.name == "sqlite"
        self._outbox_sql = _OUTBOX_SENT if self.sqlite else _OUTBOX_SENT.replace("?", "%s")
        if self.sqlite:
            # Checkpoint the WAL every ~40 MB instead of every 4 MB: consecutive sends rewrite the
            # same outbox/medios pages, which a checkpoint copies once however often they changed
            # (measured: ~190 -> ~140 us a message). Reset in close(): the connection is pooled.
            self._dbapi().execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
        self._write = threading.Lock()  # held by the sender committing a group
        self._lock = threading.Lock()  # guards _pending
        self._pending: list[_Item] = []

    def record(self, row: Due, error: DeliveryError | None) -> None:
        """Store ``row``'s outcome (``None`` = accepted); returns once it is committed.

        Raises whatever the commit raised: the sender must then stop.
        """
        item = _Item(row, error)
        with self._lock:
            self._pending.append(item)
        with self._write:
            if not item.done:
                with self._lock:
                    group, self._pending = self._pending, []
                self._commit(group)
        if item.failure is not None:
            raise item.failure

    def record_now(self, row: Due, error: DeliveryError | None) -> None:
        """:meth:`record` for an inline sender: commits only ``row``, on the caller's thread.

        Sender threads of another transport may share the connection meanwhile, hence the lock
        (uncontended, and so cheap, when the inline sender is alone); their queued outcomes stay
        theirs to commit.
        """
        item = _Item(row, error)
        with self._write:
            self._commit([item])
        if item.failure is not None:
            raise item.failure

    def close(self) -> None:
        if self.sqlite:
            self._dbapi().execute("PRAGMA wal_autocheckpoint=1000")  # SQLite's default
        self.conn.close()

    def _dbapi(self) -> Any:
        dbapi = self.conn.connection.dbapi_connection
        assert dbapi is not None
        return dbapi

    def _commit(self, group: list[_Item]) -> None:
        now = self.settings.clock().astimezone(UTC)
        try:
            if all(i.error is None for i in group):
                out = Outcome(sent=len(group))
                self._sent_fast([i.row for i in group], now)
            else:
                with self.conn.begin():
                    out = outbox.record(
                        self.conn, self.settings, [(i.row, i.error) for i in group], now
                    )
        except BaseException as exc:  # noqa: BLE001 - handed to every sender of the group
            for i in group:
                i.done, i.failure = True, exc
            return
        self.stats.sent += out.sent
        self.stats.retried += out.retried
        self.stats.failed += out.failed
        for i in group:
            i.done = True

    def _sent_fast(self, rows: list[Due], now: datetime) -> None:
        dbapi = self._dbapi()
        ts = db_value(self.engine.dialect.name, now)
        cur = dbapi.cursor()
        try:
            if self.sqlite:
                cur.execute("BEGIN IMMEDIATE")
            cur.executemany(self._outbox_sql, [(ts, r.intentos + 1, r.id) for r in rows])
            # The one accepted-send transition (same SQL text and guard as delivery.outbox),
            # on this DB-API transaction.
            outbox.enviar(
                self.conn, self.settings, [r for r in rows if r.tipo == "verificacion"], now
            )
            if self.sqlite:
                cur.execute("COMMIT")
            else:
                dbapi.commit()
        except BaseException:
            if self.sqlite:
                if dbapi.in_transaction:
                    cur.execute("ROLLBACK")
            else:
                dbapi.rollback()
            raise
        finally:
            cur.close()
