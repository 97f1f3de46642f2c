"""Opening an existing store read-only, for ``buzon plan``: it creates nothing.

No database file, no key, no migration, and no SQLite side file: when no writer is active (no
``-wal`` file beside the database) the file is opened ``immutable`` (SQLite then takes no lock
and makes no ``-wal``/``-shm``); while a writer is active its side files already exist and the
file is opened ``mode=ro``, which sees the writer's commits. PostgreSQL sessions are read-only.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, inspect

from buzon.errors import ConfigError
from buzon.settings import Settings

# A store whose schema lacks these tables was never migrated: there is nothing to read.
_TABLES = ("medios", "alcances", "registros_patronales")


def _sqlite_url(path: Path) -> str:
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    return f"sqlite:///file:{quote(str(path.resolve()))}?{mode}&uri=true"


def _query_only(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    dbapi_conn.execute("PRAGMA query_only=ON")


def open_readonly(settings: Settings) -> Engine | None:
    """An engine on the configured store that cannot write, or None when there is no store.

    "No store": the SQLite file does not exist, or the database has no migrated schema. A store
    that exists but cannot be read raises :class:`~buzon.errors.ConfigError`.
    """
    path = settings.sqlite_path
    if path is not None:
        if not path.is_file():
            return None
        engine = create_engine(_sqlite_url(path))
        event.listen(engine, "connect", _query_only)
    else:
        engine = create_engine(settings.sqlalchemy_url, pool_pre_ping=True).execution_options(
            postgresql_readonly=True
        )
    try:
        with engine.connect() as conn:
            present = all(inspect(conn).has_table(t) for t in _TABLES)
    except Exception as exc:  # unreachable server, unreadable file
        engine.dispose()
        raise ConfigError(
            f"no se pudo leer el registro ({type(exc).__name__}); "
            "para validar sin él, use --sin-registro"
        ) from None
    if not present:
        engine.dispose()
        return None
    return engine
