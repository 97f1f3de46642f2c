"""Prefect flow: ``buzon apply`` as a flow — one plan task, then one task per chunk of whole RFCs.

Parameters are file paths and ``sync`` only; settings (seal key password included) are built once
at the start of the run from the environment, and the engine and the seal are loaded once and
handed to every chunk. Chunk tasks are not retried automatically: a chunk is one transaction, and
re-running the whole flow is the recovery (applied chunks change nothing).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from buzon.settings import Settings
from flows.merge import merge
from registry.apply import ApplyResult, apply_chunk, chunks
from registry.db import get_engine
from registry.existing import existing_loader
from schemas.plan import PlanResult, plan_files
from signers.seal import Sello


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def plan_task(
    settings: Settings, engine: Engine, paths: list[str], *, sync: bool = False
) -> PlanResult:
    """Read and validate the uploads against the registry (I/O: retried once)."""
    return plan_files(paths, settings, existing_loader=existing_loader(engine), sync=sync)


@task(cache_policy=NO_CACHE)
def apply_chunk_task(
    settings: Settings,
    engine: Engine,
    sello: Sello,
    chunk: pl.DataFrame,
    *,
    sync: bool,
    now: datetime,
) -> ApplyResult:
    """Apply one chunk in its own transaction; returns its typed counts."""
    return apply_chunk(engine, settings, chunk, sync=sync, now=now, sello=sello)


@flow(name="buzon-apply")
def apply_flow(paths: list[str], sync: bool = False) -> dict[str, Any]:
    """Validate ``paths`` and register what they add; returns the ``buzon apply --json`` object."""
    settings = Settings()
    engine = get_engine(settings)
    sello = Sello.load(settings)
    now = settings.clock()  # one instant for the whole run, as the command does
    plan = plan_task(settings, engine, paths, sync=sync)
    total = merge(
        ApplyResult(),
        (
            apply_chunk_task(settings, engine, sello, chunk, sync=sync, now=now)
            for chunk in chunks(plan.accepted, settings.chunk_size)
        ),
    )
    get_run_logger().info("apply: %s", total.as_dict())
    return plan.summary | total.as_dict()


if __name__ == "__main__":
    import sys

    apply_flow(sys.argv[1:])
