"""Prefect flow: send the due outbox (``delivery.dispatcher.dispatch`` does the work).

The only flow parameter is ``limit``: settings (with the SMTP password, SMS token and HMAC key)
are built inside the run from the environment, never passed as parameters, and the task does not
cache on its inputs. ``dispatch`` already works chunk by chunk with one HMAC key, one transport
session per channel and one dispatcher lock for the whole run; splitting it into one task per
chunk would reload those per chunk and make the flow add the counts by hand. Each chunk is logged
as it ends. A retried run re-sends nothing already recorded.
"""

from __future__ import annotations

import logging

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from sqlalchemy import Engine

from buzon.settings import Settings
from delivery.dispatcher import SendStats, dispatch
from registry.db import get_engine


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def send_task(settings: Settings, engine: Engine, limit: int | None) -> SendStats:
    """Send the due messages (at most ``limit``), logging each chunk; returns the counts."""
    try:
        logger: logging.Logger | logging.LoggerAdapter = get_run_logger()
    except MissingContextError:  # the task body called directly (tests, scripts)
        logger = logging.getLogger(__name__)

    def show(stats: SendStats) -> None:
        logger.info("enviados hasta ahora: %s", stats.as_json())

    return dispatch(settings, limit=limit, engine=engine, progress=show)


@flow(name="buzon-send")
def send_flow(limit: int | None = None) -> dict[str, int]:
    """Send due messages chunk by chunk until none is due (or ``limit`` were handled)."""
    settings = Settings()
    return send_task(settings, get_engine(settings), limit).as_json()


if __name__ == "__main__":
    send_flow()
