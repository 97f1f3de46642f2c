"""Group commit: the events of concurrent requests are validated and applied together.

Validating and applying a batch costs about the same for 1 event as for 50 (one ``validar``, one
``aplicar``, one commit: ~12 ms on SQLite, nearly all of it fixed polars and SQL overhead), while
the store takes one writer at a time. So each request queues its event and waits; whichever request
finds no batch running becomes the leader, takes everything queued, validates it as one frame (one
event that breaks the rules is then isolated by validating one by one, and only its request gets
the error), applies it as one batch (``reconcile.apply.aplicar`` decides the events of a medium
in time order, exactly as one after the other) and hands every request its own outcome, read back
by the event's hash. Waiting is on a condition variable in this process, not in SQLite's busy loop.

A request is answered only after the commit that recorded its event: a crash loses nothing that was
acknowledged. A batch waits at most ``BUZON_WRITE_WAIT_SECONDS`` for the store's write lock (held by
a long reconcile, say); then its requests get :class:`StoreBusy` (503, retry later) instead of
hanging on SQLite's 60-second busy timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import OperationalError

from buzon.errors import EventFileError
from buzon.settings import Settings
from reconcile.apply import aplicar
from reconcile.events import CAMPOS, contenido_hash, validar
from registry.tables import eventos

MAX_BATCH = 200  # events per transaction (also bounds the IN lists below)
_SCHEMA = {**dict.fromkeys(CAMPOS, pl.String), "linea": pl.Int64}


class StoreBusy(Exception):
    """The store's write lock stayed taken longer than ``BUZON_WRITE_WAIT_SECONDS``."""


@contextmanager
def _bounded_wait(engine: Engine, seconds: float) -> Iterator[Connection]:
    """A connection whose next transaction waits at most ``seconds`` for the write lock."""
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                # PostgreSQL: appliers queue on an advisory lock; bound that wait.
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(seconds * 1000)}")
                yield conn
            return
        raw = conn.connection.dbapi_connection  # no transaction begun yet
        before = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
        try:
            with conn.begin():  # BEGIN IMMEDIATE: the wait happens here
                raw.execute(f"PRAGMA busy_timeout={int(before)}")
                yield conn
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(before)}")


def _lock_wait(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "lock timeout" in text


@dataclass
class _Item:
    row: dict[str, str | None]
    origen: str
    hash: str | None  # None: identified by its content (webhooks)
    done: bool = False
    result: dict = field(default_factory=dict)
    error: BaseException | None = None


def _validar(items: list[_Item]) -> pl.DataFrame:
    raw = pl.DataFrame(
        [{**it.row, "linea": n} for n, it in enumerate(items, start=1)], schema=_SCHEMA
    )
    ev = validar(raw, Path(items[0].origen))
    return ev.with_columns(origen=pl.Series([it.origen for it in items], dtype=pl.String))


class GroupCommit:
    """Records and applies single events for many threads, batch by batch."""

    def __init__(self, engine: Engine, settings: Settings, key: bytes) -> None:
        self._engine, self._settings, self._key = engine, settings, key
        self._cond = threading.Condition()
        self._pending: list[_Item] = []
        self._busy = False

    def apply(self, row: dict[str, str | None], origen: str, hash_: str | None) -> dict:
        """Record and apply one event (the text fields of an event line); blocks until committed.

        ``hash_``: the event's idempotency key, or None to derive it from its content. Returns
        ``{"resultado": ..., "medio_id": ...}``, or ``{"resultado": "duplicado"}`` for an event
        already recorded. Raises :class:`EventFileError` for an event that breaks the rules,
        :class:`StoreBusy` when the write lock stayed taken, and whatever else the transaction
        raised.
        """
        item = _Item(row, origen, hash_)
        with self._cond:
            self._pending.append(item)
        while True:
            with self._cond:
                while self._busy and not item.done:
                    self._cond.wait()
                if item.done:
                    break
                self._busy = True  # this thread leads the next batch
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                self._run(batch)  # sets done on every item of the batch, never raises
            finally:
                with self._cond:
                    busy = [it.error for it in batch if isinstance(it.error, StoreBusy)]
                    if busy:
                        # Those queued meanwhile have waited as long already: answer them too,
                        # rather than make them wait a second full period.
                        for it in self._pending:
                            it.error, it.done = busy[0], True
                        self._pending = []
                    self._busy = False
                    self._cond.notify_all()
        if item.error is not None:
            raise item.error
        return item.result

    def _valid(self, batch: list[_Item]) -> tuple[list[_Item], pl.DataFrame | None]:
        try:
            return batch, _validar(batch)
        except EventFileError:
            pass
        good, frames = [], []
        for it in batch:  # rare: find the offending events, keep the others
            try:
                frames.append(_validar([it]))
                good.append(it)
            except EventFileError as exc:
                it.error, it.done = exc, True
        return good, (pl.concat(frames) if frames else None)

    def _run(self, batch: list[_Item]) -> None:
        try:
            good, ev = self._valid(batch)
            if ev is None:
                return
            if any(it.hash is None for it in good):
                content = contenido_hash(self._key, ev).to_list()
                for it, h in zip(good, content, strict=True):
                    it.hash = it.hash or h
            ev = ev.with_columns(hash=pl.Series([it.hash for it in good], dtype=pl.String))
            hashes = sorted({it.hash for it in good})
            with _bounded_wait(self._engine, self._settings.write_wait_seconds) as conn:
                had = {
                    h
                    for (h,) in conn.execute(
                        select(eventos.c.hash).where(eventos.c.hash.in_(hashes))
                    )
                }
                aplicar(conn, self._settings, ev, key=self._key)
                stored = {
                    h: (r, m)
                    for h, r, m in conn.execute(
                        select(eventos.c.hash, eventos.c.resultado, eventos.c.medio_id).where(
                            eventos.c.hash.in_(hashes)
                        )
                    )
                }
        except BaseException as exc:  # every waiter gets the failure; nothing was committed
            if isinstance(exc, OperationalError) and _lock_wait(exc):
                exc = StoreBusy("el almacén está ocupado por otra escritura")
            for it in batch:
                if not it.done:
                    it.error, it.done = exc, True
            return
        for it in good:
            if it.hash in had:
                it.result = {"resultado": "duplicado"}
            else:
                resultado, medio_id = stored[it.hash]
                it.result = {"resultado": resultado, "medio_id": medio_id}
                had.add(it.hash)  # the same webhook twice in one batch: the second is a replay
            it.done = True
