"""Prefect flow: ``buzon apply`` as a flow — one plan task, then one task per chunk of whole RFCs.

Parameters are file paths and ``sync`` only; settings (seal key password included) are built
inside each task from the environment. Chunk tasks are not retried automatically: a chunk is one
transaction, and re-running the whole flow is the recovery (applied chunks change nothing).
"""

from __future__ import annotations

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from buzon.settings import Settings
from registry.apply import ApplyResult


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def plan_task(paths: list[str], sync: bool = False) -> tuple[dict, pl.DataFrame]:
    """Read and validate the uploads against the registry (I/O: retried once)."""
    from registry.db import get_engine
    from registry.reader import registro_reader, rps_loader
    from schemas.plan import plan_files

    settings = Settings()
    engine = get_engine(settings)
    result = plan_files(
        paths,
        settings,
        read_registro=registro_reader(engine),
        rps_loader=rps_loader(engine),
        sync=sync,
    )
    return result.summary, result.accepted


@task(cache_policy=NO_CACHE)
def apply_chunk_task(chunk: pl.DataFrame, sync: bool) -> ApplyResult:
    """Apply one chunk in its own transaction; returns its counts."""
    from registry.apply import apply_chunk
    from registry.db import get_engine
    from signers.seal import Sello

    settings = Settings()
    result = apply_chunk(
        get_engine(settings), settings, chunk, sync=sync, sello=Sello.load(settings)
    )
    return result


def apply_accepted(accepted: pl.DataFrame, sync: bool) -> dict:
    """Apply accepted entries chunk by chunk (one task each); returns the summed counts.

    Publishes a progress artifact while the chunks run (inside a flow run).
    """
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    from registry.apply import chunks

    parts = list(chunks(accepted, Settings().chunk_size))
    total = ApplyResult()
    progress = create_progress_artifact(0.0, description="apply: bloques aplicados (%)")
    for n, chunk in enumerate(parts, 1):
        total.add(apply_chunk_task(chunk, sync))
        update_progress_artifact(progress, 100.0 * n / len(parts))
    return total.as_dict()


@flow(name="buzon-apply")
def apply_flow(paths: list[str], sync: bool = False) -> dict:
    """Validate ``paths`` and register what they add; returns plan summary plus counts."""
    summary, accepted = plan_task(paths, sync)
    counts = apply_accepted(accepted, sync)
    get_run_logger().info("apply: %s", counts)
    return summary | counts


if __name__ == "__main__":
    import sys

    apply_flow(sys.argv[1:])
