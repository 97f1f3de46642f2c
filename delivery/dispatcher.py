"""The dispatcher: due outbox rows -> transports, exactly once (see :mod:`delivery.outbox`).

Senders: per channel, one session per connection (SMTP or HTTP keep-alive). A sender records
each outcome (:mod:`delivery.recorder`) and waits until it is committed before it sends its next
message, so at most one accepted-but-unrecorded message exists per sender (the in-flight one a
kill -9 can duplicate). A transport with ``workers == 1`` (one SMTP connection, the default, and
the spools) sends inline on the calling thread: no sender thread or queue, so no GIL hand-off
between threads for every message. A transport with several workers gets that many sender
threads fed through a queue; outcomes that several senders record at the same moment are
committed together (group commit).

Only one dispatcher runs per store at a time (a file lock on SQLite, an advisory lock on
PostgreSQL): two would claim the same rows.
"""

from __future__ import annotations

import fcntl
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass

from sqlalchemy import Engine

from buzon.errors import DeliveryError
from buzon.settings import Settings
from delivery import outbox
from delivery.outbox import Due
from delivery.recorder import Recorder
from delivery.render import Message, render, warn_long_sms
from delivery.secrets import load_key
from delivery.transports import Transport, for_canal
from registry.reader.recordatorios import RECORDATORIO
from registry.ventanas import antes_del, plazo_envio

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SendStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    pending: int = 0
    processed: int = 0

    def as_json(self) -> dict[str, int]:
        data = asdict(self)
        data.pop("processed")
        return data


class _Inline:
    """The one sender of a single-connection transport, run on the calling thread.

    Its session stays open across chunks (one connection per dispatch, as with the threads).
    With an SMTP session (``overlaps``), the previous message's outcome is committed while the
    server answers this one's ``MAIL FROM``, and the next message is rendered while the server
    takes in this one's data (see :mod:`delivery.transports.smtp`); the acceptance of a message is
    still committed before the next message's data is sent.
    """

    def __init__(self, transport: Transport, recorder: Recorder, settings: Settings) -> None:
        self.settings = settings
        self.recorder = recorder
        self.fatal: BaseException | None = None
        self._stack = ExitStack()
        self.session = self._stack.enter_context(transport.session())
        self.overlaps = getattr(self.session, "overlaps", False)
        self._pending: tuple[Due, DeliveryError | None] | None = None  # outcome not yet committed

    def _flush(self) -> None:
        if self._pending is not None:
            row, error = self._pending
            self._pending = None
            self.recorder.record_now(row, error)

    def _render(self, row: Due) -> tuple[Message, bytes | None]:
        message = _message(self.settings, row)
        row.secret = None  # the rendered message is the only copy now
        return message, self.session.encode(message) if self.overlaps else None

    def run(self, rows: list[Due]) -> None:
        """Send ``rows`` in order; every outcome is committed when this returns."""
        try:
            ahead: list[tuple[Message, bytes | None]] = []
            for i, row in enumerate(rows):
                following = rows[i + 1] if i + 1 < len(rows) else None

                def render_next(following: Due | None = following) -> None:
                    if following is not None and not ahead:
                        ahead.append(self._render(following))

                message, data = ahead.pop() if ahead else self._render(row)
                try:
                    if self.overlaps:
                        self.session.send(
                            message, data=data, mail_wait=self._flush, data_wait=render_next
                        )
                    else:
                        self._flush()
                        self.session.send(message)
                    error = None
                except DeliveryError as exc:
                    error = exc
                    log.info("outbox %s: %s", row.id, exc.message)
                self._flush()  # when the session failed before MAIL FROM
                self._pending = (row, error)
            self._flush()
        except BaseException:
            # A commit that failed left _pending unset: its message goes again on the next run.
            if self._pending is not None:
                with suppress(Exception):
                    self._flush()
            raise

    def close(self) -> None:
        self._stack.close()


class _Senders:
    """The sender threads of one transport, fed through a queue."""

    def __init__(self, transport: Transport, recorder: Recorder, settings: Settings) -> None:
        self.settings = settings
        self.transport = transport
        self.recorder = recorder
        self.queue: queue.Queue = queue.Queue()
        self.fatal: BaseException | None = None
        self.threads = [
            threading.Thread(target=self._run, name=f"buzon-{transport.name}-{i}", daemon=True)
            for i in range(transport.workers)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        try:
            with self.transport.session() as session:
                while True:
                    item = self.queue.get()
                    if item is None:
                        return
                    try:
                        if self.fatal is None:
                            self._one(session, item)
                    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                        self.fatal = self.fatal or exc
                    finally:
                        self.queue.task_done()
        except BaseException as exc:  # noqa: BLE001 - session setup/teardown
            self.fatal = self.fatal or exc
            self._drain()

    def _one(self, session, row: Due) -> None:  # noqa: ANN001
        # Rendering here, not in the main thread: a main thread busy rendering a whole chunk
        # would hold the GIL and starve the I/O-bound senders and the recorder.
        message = _message(self.settings, row)
        row.secret = None  # the rendered message is the only copy now
        try:
            session.send(message)
            error = None
        except DeliveryError as exc:
            error = exc
            log.info("outbox %s: %s", row.id, exc.message)
        self.recorder.record(row, error)

    def _drain(self) -> None:
        while True:
            item = self.queue.get()
            self.queue.task_done()
            if item is None:
                return

    def close(self) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()


@contextmanager
def dispatch_lock(settings: Settings, engine: Engine) -> Iterator[None]:
    """Hold the store's dispatcher lock (released by the OS or server if the process dies)."""
    if engine.dialect.name == "sqlite":
        settings.home.mkdir(parents=True, exist_ok=True)
        with open(settings.home / ".send.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        key = "hashtext(current_schema() || ':buzon-send')"
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({key})")
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")


def _message(settings: Settings, row: Due) -> Message:
    mecanismo = "correo" if row.canal == "correo" else "telefono"
    plazo = plazo_envio(
        mecanismo, row.envios, row.vence_en, settings.clock(), settings.validity_hours
    )
    if row.tipo == RECORDATORIO and row.vence_en is not None:
        plazo = row.vence_en  # a reminder repeats its live send's deadline, unchanged
    context = {
        "rfc": row.rfc,
        "nombre": row.nombre,
        "folio": row.folio,
        "medio": row.valor,
        "horas": settings.validity_hours,
        "token": row.secret,
        "codigo": row.secret,
        "plazo": antes_del(plazo),
        "rps": row.rps or [],
        "aclaraciones": settings.aclaraciones,
    }
    return render(
        outbox_id=row.id,
        tipo=row.tipo,
        canal=row.canal,
        destino=row.destino,
        context=context,
        public_url=settings.public_url,
        email_from=settings.email_from,
    )


def dispatch(
    settings: Settings,
    *,
    limit: int | None = None,
    only_ids: Sequence[int] | None = None,
    progress: Callable[[SendStats], None] | None = None,
    engine: Engine | None = None,
    transports: dict[str, Transport] | None = None,
) -> SendStats:
    """Send every due outbox row (at most ``limit``), chunk by chunk; return the counts."""
    from registry.db import get_engine

    engine = engine or get_engine(settings)
    with dispatch_lock(settings, engine):
        return dispatch_locked(
            settings,
            engine,
            limit=limit,
            only_ids=only_ids,
            progress=progress,
            transports=transports,
        )


def dispatch_locked(
    settings: Settings,
    engine: Engine,
    *,
    limit: int | None = None,
    only_ids: Sequence[int] | None = None,
    progress: Callable[[SendStats], None] | None = None,
    transports: dict[str, Transport] | None = None,
) -> SendStats:
    """:func:`dispatch` for a caller that already holds :func:`dispatch_lock`."""
    key = load_key(settings)
    warn_long_sms(settings.public_url)
    stats = SendStats()
    transports = dict(transports or {})
    senders: dict[str, _Inline | _Senders] = {}
    recorder = Recorder(engine, settings, stats)
    try:
        while limit is None or stats.processed < limit:
            size = settings.chunk_size
            if limit is not None:
                size = min(size, limit - stats.processed)
            with engine.begin() as conn:
                rows, seen = outbox.prepare(conn, key, settings.clock(), size, only_ids)
            if not seen:
                break
            by_canal: dict[str, list[Due]] = {}
            for row in rows:
                by_canal.setdefault(row.canal, []).append(row)
            inline = []
            for canal, group_rows in by_canal.items():
                group = senders.get(canal)
                if group is None:
                    transport = transports.get(canal) or for_canal(settings, canal)
                    kind = _Inline if transport.workers == 1 else _Senders
                    group = senders[canal] = kind(transport, recorder, settings)
                if isinstance(group, _Inline):
                    inline.append((group, group_rows))
                else:  # threads start at once and run alongside the inline senders
                    for row in group_rows:
                        group.queue.put(row)
            for group, group_rows in inline:
                group.run(group_rows)
            for group in senders.values():
                if isinstance(group, _Senders):
                    group.queue.join()
            for group in senders.values():
                if group.fatal is not None:
                    raise group.fatal
            stats.processed += seen
            if progress is not None:
                progress(stats)
    finally:
        for group in senders.values():
            group.close()
        recorder.close()
    with engine.connect() as conn:
        stats.pending = outbox.pending_count(conn)
    return stats
