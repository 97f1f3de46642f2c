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


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def plan_task(paths: list[str], sync: bool = False) -> tuple[dict, pl.DataFrame]:
    """Read and validate the uploads against the registry (I/O: retried once)."""
    from registry.db import get_engine
    from registry.reader import registro_reader
    from schemas.plan import plan_files

    settings = Settings()
    result = plan_files(
        paths, settings, read_registro=registro_reader(get_engine(settings)), sync=sync
    )
    return result.summary, result.accepted


@task(cache_policy=NO_CACHE)
def apply_chunk_task(chunk: pl.DataFrame, sync: bool) -> dict:
    """Apply one chunk in its own transaction; returns its counts."""
    from registry.apply import apply_chunk
    from registry.db import get_engine
    from signers.seal import Sello

    settings = Settings()
    result = apply_chunk(
        get_engine(settings), settings, chunk, sync=sync, sello=Sello.load(settings)
    )
    return result.as_dict()


@flow(name="buzon-apply")
def apply_flow(paths: list[str], sync: bool = False) -> dict:
    """Validate ``paths`` and register what they add; returns plan summary plus counts."""
    from registry.apply import ApplyResult, chunks

    settings = Settings()
    summary, accepted = plan_task(paths, sync)
    total = ApplyResult()
    for chunk in chunks(accepted, settings.chunk_size):
        counts = apply_chunk_task(chunk, sync)
        part = ApplyResult(
            registered=counts["registered"], updated=counts["updated"],
            unchanged=counts["unchanged"], bajas=counts["bajas"], acuses=counts["acuses"],
            chunks=1,
        )  # fmt: skip
        total.add(part)
    get_run_logger().info("apply: %s", total.as_dict())
    return summary | total.as_dict()


if __name__ == "__main__":
    import sys

    apply_flow(sys.argv[1:])
