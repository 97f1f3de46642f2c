"""Prefect flow: what an outsourcer runs when a new upload arrives (``buzon run``).

plan → apply → send → reconcile → activate → report, each stage a coarse task or a subflow (a
file or a chunk of whole RFCs, never a row). Parameters are paths and flags only: passwords,
keys and tokens are read inside the run from the environment and files, never passed here
(Prefect records flow parameters). Every stage is idempotent, so re-running the whole flow is
the recovery from any failure: what was done is skipped, what was not is finished.

Stage boundaries are logged on the ``buzon.run`` logger (``extra={"etapa", "fase"}``) so a
console can draw them; the run publishes a table artifact with each stage's summary and a
progress artifact while the apply chunks run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from buzon.settings import Settings
from flows.activate import activate_flow
from flows.apply import apply_accepted
from flows.reconcile import reconcile_flow
from flows.send import send_flow

ETAPAS = ("plan", "apply", "send", "reconcile", "activate", "report")
log = logging.getLogger("buzon.run")


@contextmanager
def stage(nombre: str, resultados: dict[str, Any]) -> Iterator[None]:
    """Announce a stage's start and end (with its seconds) on the ``buzon.run`` logger."""
    log.info("%s: inicio", nombre, extra={"etapa": nombre, "fase": "inicio"})
    start = time.perf_counter()
    yield
    segundos = round(time.perf_counter() - start, 2)
    log.info(
        "%s: listo en %.1f s", nombre, segundos,
        extra={"etapa": nombre, "fase": "fin", "segundos": segundos,
               "resultado": resultados.get(nombre)},
    )  # fmt: skip


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def plan_task(paths: list[str], out: str | None, sync: bool = False):  # noqa: ANN201 - (dict, DataFrame)
    """Validate the uploads against the registry; write the plan's files under ``out/plan``."""
    from registry.db import get_engine
    from registry.reader import registro_reader
    from reports.plan_outputs import write_plan_outputs
    from schemas.plan import plan_files

    settings = Settings()
    result = plan_files(
        paths, settings, read_registro=registro_reader(get_engine(settings)), sync=sync
    )
    if out is not None:
        write_plan_outputs(result, Path(out) / "plan")
    return result.summary, result.accepted


def _apply_shards(accepted, sync: bool, shards: int) -> dict[str, Any]:  # noqa: ANN001
    """Run each shard as a flow run of the ``buzon-shard`` deployment, on any worker."""
    from concurrent.futures import ThreadPoolExecutor

    from prefect.deployments import run_deployment
    from prefect.runtime import flow_run

    from flows.shard import result_path, split_entries
    from registry.apply import ApplyResult

    folder = Settings().home.resolve() / "shards" / str(flow_run.get_id() or "local")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, part in enumerate(split_entries(accepted, shards)):
        path = folder / f"shard-{i}.parquet"
        part.write_parquet(path)
        paths.append(path)

    def one(path: Path):  # noqa: ANN202
        return run_deployment(
            "buzon-shard/buzon-shard",
            parameters={"entries": str(path), "sync": sync},
            timeout=None,
            as_subflow=True,
        )

    with ThreadPoolExecutor(max_workers=shards) as pool:
        runs = list(pool.map(one, paths))
    failed = [r.name for r in runs if not r.state or not r.state.is_completed()]
    if failed:
        raise RuntimeError(f"fragmentos sin terminar: {', '.join(failed)}")
    total = ApplyResult()
    for path in paths:
        counts = json.loads(result_path(path).read_text(encoding="utf-8"))
        total.add(ApplyResult.from_dict(counts))
    return total.as_dict() | {"shards": shards}


@flow(name="buzon-run")
def onboard_flow(
    paths: list[str],
    sync: bool = False,
    keystore: str | None = None,
    out: str | None = None,
    shards: int = 1,
) -> dict[str, Any]:
    """The whole onboarding of ``paths``; returns each stage's ``--json`` object by name."""
    res: dict[str, Any] = {}
    with stage("plan", res):
        summary, accepted = plan_task(paths, out, sync)
        res["plan"] = summary
    with stage("apply", res):
        res["apply"] = (
            apply_accepted(accepted, sync) if shards <= 1 else _apply_shards(accepted, sync, shards)
        )
    with stage("send", res):
        res["send"] = send_flow()
    with stage("reconcile", res):
        res["reconcile"] = reconcile_flow()
    if keystore is not None:
        with stage("activate", res):
            res["activate"] = activate_flow(keystore)
    create_table_artifact(
        key="buzon-run",
        table=[{"etapa": k, "resultado": str(v)} for k, v in res.items()],
        description="Resumen de buzon run",
    )
    return res
