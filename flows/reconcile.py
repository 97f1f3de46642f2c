"""Prefect flow: reconcile callbacks into states (``reconcile`` does the work).

Parameters are file paths only; settings (database URL, HMAC key) are built inside the run from
the environment. One task per file checks it (I/O, retried); one task imports, applies and expires
in a single transaction, so a failed run changes nothing and the next scheduled run redoes it.
Event rows never travel as task results: they can carry raw codes and tokens.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from buzon.settings import Settings
from reconcile.apply import reconciliar
from reconcile.events import leer_archivo


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def check_file_task(path: str) -> int:
    """Read and validate one event file; returns its number of events."""
    return leer_archivo(path).height


@task(cache_policy=NO_CACHE)
def reconcile_task(paths: list[str]) -> dict:
    """Import the files, apply every new event in time order, expire overdue media."""
    return reconciliar(Settings(), paths).as_json()


@flow(name="buzon-reconcile")
def reconcile_flow(event_files: list[str] | None = None) -> dict:
    """Settle every medium: event files (optional) plus the 72-hour expiry."""
    paths = list(event_files or [])
    for path in paths:
        get_run_logger().info("%s: %d eventos", path, check_file_task(path))
    summary = reconcile_task(paths)
    get_run_logger().info("reconcile: %s", summary)
    return summary


if __name__ == "__main__":
    reconcile_flow()
