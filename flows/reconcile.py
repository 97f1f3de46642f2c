"""Prefect flow: reconcile callbacks into states (``reconcile`` does the work).

Parameters are file paths only; settings (database URL, HMAC key) are built inside the run from
the environment. Without file arguments the run takes the files waiting in the events inbox
(``reconcile.inbox``) and, once they are imported, moves them to ``procesados/``. One task per
file checks it (I/O, retried); one task imports, applies and expires, one transaction per chunk
of media, so a failed run leaves whole chunks and the next run finishes the rest. Event rows
never travel as task results: they can carry raw codes and tokens.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from buzon.settings import Settings
from reconcile.apply import reconciliar
from reconcile.events import leer_archivo
from reconcile.inbox import archive_files, pending_files


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def check_file_task(path: str) -> int:
    """Read and validate one event file; returns its number of events."""
    return leer_archivo(path).height


@task(cache_policy=NO_CACHE)
def reconcile_task(paths: list[str]) -> dict:
    """Import the files, apply every new event in time order, expire overdue media."""
    return reconciliar(Settings(), paths).as_json()


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def archive_task(paths: list[str]) -> list[str]:
    """Move imported inbox files to ``procesados/`` (I/O, retried)."""
    settings = Settings()
    moved = archive_files(settings.events_inbox, [Path(p) for p in paths], settings.clock())
    return [str(p) for p in moved]


@flow(name="buzon-reconcile")
def reconcile_flow(event_files: list[str] | None = None) -> dict:
    """Settle every medium: event files (or the inbox's) plus the 72-hour expiry."""
    from_inbox = event_files is None
    paths = (
        [str(p) for p in pending_files(Settings().events_inbox)]
        if from_inbox
        else list(event_files or [])
    )
    for path in paths:
        get_run_logger().info("%s: %d eventos", path, check_file_task(path))
    summary = reconcile_task(paths)
    if from_inbox and paths:
        summary["archivados"] = archive_task(paths)
    get_run_logger().info("reconcile: %s", summary)
    return summary


if __name__ == "__main__":
    reconcile_flow()
