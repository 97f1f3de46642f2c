"""Prefect flow: ``buzon plan`` for orchestrated runs — one task per file, then one validation task.

The tasks wrap the same pure functions as the command (``schemas.plan.load_file`` and
``plan_entries``; ``reports.plan_outputs.write_plan_outputs``), so both give the same result. Files
are read concurrently (one task each, never one per row); the rules run once over all of them,
because the limits and RP ownership span files. Reading is not retried: a local file that cannot be
read is bad input, and a retry would only repeat the error.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from buzon.settings import Settings
from loaders.guard import Limits
from schemas.plan import FileEntries, PlanResult, load_file, plan_entries, workbook_limits


@task(cache_policy=NO_CACHE)
def load_task(path: str, max_bytes: int, limits: Limits | None = None) -> FileEntries:
    """Read one upload into entries (raises InputError if it is unusable)."""
    return load_file(path, max_bytes=max_bytes, limits=limits)


@task(cache_policy=NO_CACHE)
def validate_task(files: list[FileEntries], rp_digito_warning: bool = False) -> PlanResult:
    """Apply the rules to every entry of every file, in argument order."""
    return plan_entries(files, rp_digito_warning=rp_digito_warning)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_task(result: PlanResult, out: str) -> list[str]:
    """rechazos.csv, advertencias.csv, aceptados.parquet, resumen.json (each written atomically)."""
    from reports.plan_outputs import write_plan_outputs

    return [str(p) for p in write_plan_outputs(result, Path(out))]


@flow(name="buzon-plan")
def plan_flow(paths: list[str], out: str | None = None) -> dict:
    """Validate ``paths`` without changing anything; returns the ``buzon plan --json`` object."""
    settings = Settings()
    futures = [
        load_task.submit(p, settings.max_file_bytes, workbook_limits(settings)) for p in paths
    ]
    files = [f.result() for f in futures]  # argument order, whatever finished first
    result = validate_task(files, settings.rp_digito_warning)
    if out is not None:
        write_task(result, out)
    return result.summary
