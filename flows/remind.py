"""Prefect flow: the reminders before each deadline (``delivery.remind`` does the work).

No parameters: settings (database URL, HMAC key, transports) are built inside the run from the
environment, so no secret travels as a flow parameter. One task; re-running it is always safe
(a medium gets one reminder at most).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from buzon.settings import Settings
from delivery.remind import remind


@task(cache_policy=NO_CACHE)
def remind_task() -> dict:
    """Queue and send the reminders that are due."""
    return remind(Settings()).as_json()


@flow(name="buzon-recordar")
def remind_flow() -> dict:
    """One reminder, with the same code or link, to each medium pending near its deadline."""
    summary = remind_task()
    get_run_logger().info("recordar: %s", summary)
    return summary


if __name__ == "__main__":
    remind_flow()
