"""Prefect flow: the report and the bundles (``reports.report`` and ``reports.bundle`` do the work).

One task writes the report's files; the bundles are made by one task per chunk of RFCs, so a
failed chunk is retried alone (each bundle is written atomically and byte-identical on a re-run).
Parameters are the output folder and the RFCs; settings are built inside the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from buzon.settings import Settings
from registry.db import get_engine
from registry.reader.reporte import rfcs_con_acuses
from reports.bundle import escribir_bundles
from reports.report import build
from schemas.rfc import compact

CHUNK = 500  # RFCs per bundle task


@task(cache_policy=NO_CACHE)
def report_task(out: str, rfcs: list[str] | None) -> dict[str, Any]:
    """estado.xlsx, the CSVs and estado.html; returns the ``--json`` object (files so far)."""
    return build(Settings(), Path(out), rfcs=rfcs, bundles=False)


@task(cache_policy=NO_CACHE)
def rfcs_task(rfcs: list[str] | None) -> list[str]:
    """The RFCs (of ``rfcs``, or all) that have acuses."""
    with get_engine(Settings()).connect() as conn:
        return rfcs_con_acuses(conn, rfcs)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def bundles_task(out: str, rfcs: list[str]) -> list[str]:
    """One chunk of RFCs' bundles under ``out/acuses``."""
    return [str(p) for p in escribir_bundles(Settings(), Path(out) / "acuses", rfcs=rfcs)]


@flow(name="buzon-report")
def report_flow(out: str, rfcs: list[str] | None = None) -> dict[str, Any]:
    """Everything ``buzon report --out OUT`` writes; returns the same ``--json`` object."""
    wanted = None if rfcs is None else sorted({compact(r) for r in rfcs})
    summary = report_task(out, wanted)
    con_acuses = rfcs_task(wanted)
    futures = [
        bundles_task.submit(out, con_acuses[i : i + CHUNK])
        for i in range(0, len(con_acuses), CHUNK)
    ]
    for future in futures:
        summary["files"] += future.result()
    get_run_logger().info(
        "reporte: %d RFC, %d RP, %d medios, %d paquetes",
        summary["rfcs"],
        summary["rps"],
        summary["medios"],
        len(con_acuses),
    )
    return summary


if __name__ == "__main__":
    import sys

    report_flow(sys.argv[1] if len(sys.argv) > 1 else "salida/reporte")
