"""Prefect flow: reconcile callbacks into states (``reconcile`` does the work).

Parameters are file paths only; settings (database URL, HMAC key) are built once per run from the
environment. Without file arguments the run takes the files waiting in the events inbox
(``reconcile.inbox``) and, once they are imported, moves them to ``procesados/``. One task reads
and checks every file once, then imports, applies and expires (``reconciliar``), one transaction
per chunk of media, so a failed run leaves whole chunks and the next run finishes the rest. A file
that cannot be read is bad input: it is not retried. Event rows never travel as task results:
they can carry raw codes and tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from buzon.settings import Settings
from reconcile.apply import reconciliar
from reconcile.inbox import archive_files, pending_files
from reconcile.rules import Resumen
from registry.db import get_engine


@task(cache_policy=NO_CACHE)
def reconcile_task(settings: Settings, engine: Engine, paths: list[str]) -> Resumen:
    """Import the files, apply every new event in time order, expire overdue media."""
    return reconciliar(settings, paths, engine=engine)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def archive_task(settings: Settings, paths: list[str]) -> list[str]:
    """Move imported inbox files to ``procesados/`` (I/O, retried)."""
    moved = archive_files(settings.events_inbox, [Path(p) for p in paths], settings.clock())
    return [str(p) for p in moved]


@flow(name="buzon-reconcile")
def reconcile_flow(event_files: list[str] | None = None) -> dict[str, Any]:
    """Settle every medium: event files (or the inbox's) plus the 72-hour expiry."""
    settings = Settings()
    from_inbox = event_files is None
    paths = (
        [str(p) for p in pending_files(settings.events_inbox)]
        if from_inbox
        else list(event_files or [])
    )
    summary = reconcile_task(settings, get_engine(settings), paths).as_json()
    if from_inbox and paths:
        summary["archivados"] = archive_task(settings, paths)
    get_run_logger().info("reconcile: %s", summary)
    return summary


if __name__ == "__main__":
    reconcile_flow()
