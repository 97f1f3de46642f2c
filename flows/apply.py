"""Prefect flow: ``buzon apply`` as a flow — one plan task, then one task per chunk of whole RFCs.

Parameters are file paths and ``sync`` only; settings (seal key password included) are built once
per run from the environment, and the engine and the seal are loaded once and handed to every
chunk. Chunk tasks are not retried automatically: a chunk is one transaction, and re-running the
whole flow is the recovery (applied chunks change nothing).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from buzon.settings import Settings
from flows.merge import merge
from registry.apply import ApplyResult, apply_chunk, chunks
from registry.db import get_engine
from registry.reader import registro_reader, rps_loader
from schemas.plan import PlanResult, plan_files
from signers.seal import Sello


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def plan_task(
    settings: Settings, engine: Engine, paths: list[str], *, sync: bool = False
) -> PlanResult:
    """Read and validate the uploads against the registry (I/O: retried once)."""
    return plan_files(
        paths,
        settings,
        read_registro=registro_reader(engine),
        rps_loader=rps_loader(engine),
        sync=sync,
    )


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


def apply_accepted(
    accepted: pl.DataFrame, sync: bool, settings: Settings | None = None
) -> dict[str, Any]:
    """Apply accepted entries chunk by chunk (one task each); returns the ``--json`` counts.

    The engine, the seal and the instant are loaded once for all chunks. Publishes a progress
    artifact while the chunks run (inside a flow run).
    """
    settings = settings or Settings()
    engine, sello = get_engine(settings), Sello.load(settings)
    now = settings.clock()  # one instant for the whole run, as the command does
    parts = list(chunks(accepted, settings.chunk_size))
    progress = create_progress_artifact(0.0, description="apply: bloques aplicados (%)")

    def run(n: int, chunk: pl.DataFrame) -> ApplyResult:
        part = apply_chunk_task(settings, engine, sello, chunk, sync=sync, now=now)
        update_progress_artifact(progress, 100.0 * n / len(parts))
        return part

    return merge(ApplyResult(), (run(n, c) for n, c in enumerate(parts, 1))).as_dict()


@flow(name="buzon-apply")
def apply_flow(paths: list[str], sync: bool = False) -> dict[str, Any]:
    """Validate ``paths`` and register what they add; returns the ``buzon apply --json`` object."""
    settings = Settings()
    plan = plan_task(settings, get_engine(settings), paths, sync=sync)
    counts = apply_accepted(plan.accepted, sync, settings)
    get_run_logger().info("apply: %s", counts)
    return plan.summary | counts


if __name__ == "__main__":
    import sys

    apply_flow(sys.argv[1:])
