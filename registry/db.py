"""Connections to the store: SQLite (embedded default) or PostgreSQL, migrated on first use.

SQLite runs in WAL mode with a busy timeout so that a reader never blocks the writer and two
processes queue instead of failing. Writers take the lock at ``BEGIN`` (``BEGIN IMMEDIATE``) so a
transaction never fails half-way on a lock upgrade. Readers use :func:`read_connection`: a deferred
``BEGIN`` reads a WAL snapshot beside a writer instead of queueing for its lock (pages, status,
exports, the plan's registry look-up).
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url

from buzon.errors import ConfigError
from buzon.files import private_dir, private_file
from buzon.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


# Execution option marking a connection whose transactions only read.
_READ_ONLY = "buzon_read_only"


def _sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(_READ_ONLY):
        conn.exec_driver_sql("BEGIN")  # deferred: a snapshot; never waits for the write lock
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: it never waits for a writer.

    SQLite: its transactions begin deferred (``BEGIN``), so WAL gives them the last committed
    snapshot while another connection holds the write lock (a long reconcile); a write through it
    would still have to wait for that lock, so do not write here. PostgreSQL: a ``READ ONLY``
    transaction (MVCC readers never wait for writers anyway; this makes a stray write fail).
    """
    with engine.connect() as conn:
        options: dict = {_READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        yield conn.execution_options(**options)


def make_engine(url: str) -> Engine:
    """A new engine for ``url`` with this project's SQLite settings applied."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 60})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # bad URL, missing driver
        raise ConfigError(f"BUZON_DATABASE_URL no es válido: {exc}") from None
    return engine


def _alembic_config(engine: Engine):  # noqa: ANN202
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


@contextmanager
def _migration_lock(settings: Settings) -> Iterator[None]:
    # Two first-use processes must not both create the schema; PostgreSQL serialises in env.py
    # with an advisory lock, SQLite here with a file lock next to the database.
    if not settings.sqlalchemy_url.startswith("sqlite"):
        yield
        return
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / ".migrate.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(engine: Engine, settings: Settings) -> None:
    """Bring the schema to the newest Alembic revision (``buzon db upgrade``)."""
    from alembic import command

    with _migration_lock(settings):
        command.upgrade(_alembic_config(engine), "head")


def _current_is_head(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(_alembic_config(engine)).get_heads())
    with read_connection(engine) as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        current = set(MigrationContext.configure(conn).get_current_heads())
        conn.rollback()
    return current == heads


def _private_sqlite_file(url: str, settings: Settings) -> None:
    """The database holds keyed hashes, folios and contact data: create it 0600 before SQLite
    does (its -wal and -shm files copy the database file's mode) and the home folder 0700."""
    private_dir(settings.home, tighten=False)
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        private_file(Path(database))


def get_engine(settings: Settings, *, migrate: bool = True) -> Engine:
    """The engine for ``settings`` (cached per URL), migrated to head on first use."""
    url = settings.sqlalchemy_url
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            _private_sqlite_file(url, settings)
        engine = make_engine(url)
        if migrate:
            try:
                if not _current_is_head(engine):
                    upgrade(engine, settings)
            except ConfigError:
                raise
            except Exception as exc:
                raise ConfigError(f"no se pudo abrir la base de datos: {exc}") from None
        _engines[url] = engine
    return engine


def dispose_all() -> None:
    """Close every cached engine (tests, forked workers)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
