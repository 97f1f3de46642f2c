"""Prefect flow: reconcile callbacks into states (``registry.reconcile`` does the work).

Parameters are file paths only; settings (database URL, HMAC key) are built once at the start of
the run from the environment. One task reads and checks every file once, then imports, applies and
expires in a single transaction (``reconciliar``), so a failed run changes nothing and the next
scheduled run redoes it. A file that cannot be read is bad input: it is not retried. Event rows
never travel as task results: they can carry raw codes and tokens.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from buzon.settings import Settings
from registry.db import get_engine
from registry.reconcile import Resumen, reconciliar


@task(cache_policy=NO_CACHE)
def reconcile_task(settings: Settings, engine: Engine, paths: list[str]) -> Resumen:
    """Import the files, apply every new event in time order, expire overdue media."""
    return reconciliar(settings, paths, engine=engine)


@flow(name="buzon-reconcile")
def reconcile_flow(event_files: list[str] | None = None) -> dict[str, Any]:
    """Settle every medium: event files (optional) plus the 72-hour expiry."""
    settings = Settings()
    summary = reconcile_task(settings, get_engine(settings), list(event_files or [])).as_json()
    get_run_logger().info("reconcile: %s", summary)
    return summary


if __name__ == "__main__":
    reconcile_flow()
