"""Prefect flow: send the due outbox, one task per chunk (``delivery.dispatcher`` does the work).

The only flow parameter is ``limit``: settings (with the SMTP password, SMS token and HMAC key)
are built inside the run from the environment, never passed as parameters, and the tasks do not
cache on their inputs. Each task holds the dispatcher lock for its chunk, so chunks run one after
another and a retried chunk re-sends nothing already recorded.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from buzon.settings import Settings
from delivery.dispatcher import SendStats, dispatch


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def send_chunk_task(settings: Settings, size: int) -> SendStats:
    """Send at most ``size`` due messages; returns this chunk's counts."""
    return dispatch(settings, limit=size)


@flow(name="buzon-send")
def send_flow(limit: int | None = None) -> dict[str, int]:
    """Send due messages chunk by chunk until none is due (or ``limit`` were handled)."""
    settings = Settings()
    total = SendStats()
    while limit is None or total.processed < limit:
        size = settings.chunk_size
        if limit is not None:
            size = min(size, limit - total.processed)
        stats = send_chunk_task(settings, size)
        if stats.processed == 0:
            total.pending = stats.pending
            break
        total.sent += stats.sent
        total.retried += stats.retried
        total.failed += stats.failed
        total.processed += stats.processed
        total.pending = stats.pending
        get_run_logger().info("chunk: %s", stats.as_json())
    return total.as_json()


if __name__ == "__main__":
    send_flow()
