"""Prefect flow: activate the ready RFCs chunk by chunk (``registry.activate`` does the work).

Only the keystore folder and RFC list are flow parameters (Prefect records those); passwords are
read from ``passwords.csv`` and ``BUZON_EFIRMA_PASSWORD_<RFC>`` inside the run, never passed as
parameters, and the tasks do not cache on their inputs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from buzon.settings import Settings
from registry.activate import Keystore, Resultado, activar_chunk, candidatos
from registry.db import get_engine
from schemas.rfc import compact
from signers.efirma import load_trusted
from signers.seal import Sello
from signers.tyc import cargar as cargar_tyc


@task(cache_policy=NO_CACHE)
def plan_task(settings: Settings, rfcs: list[str] | None) -> Resultado:
    """Who is ready (``activated`` holds the ready RFCs), who is not and why."""
    with get_engine(settings).connect() as conn:
        res = candidatos(conn, rfcs)
        conn.rollback()
    return res


# Re-running a chunk is safe: activated RFCs are skipped and a failed transaction left nothing.
@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def activate_chunk_task(settings: Settings, keystore: Keystore, rfcs: list[str]) -> Resultado:
    return activar_chunk(
        get_engine(settings),
        settings,
        keystore,
        rfcs,
        tyc=cargar_tyc(settings),
        sello=Sello.load(settings),
        trusted=load_trusted(settings.sat_ca_dir),
        now=settings.clock(),
    )


@flow(name="buzon-activate")
def activate_flow(
    keystore: str, rfcs: list[str] | None = None, chunk_size: int = 500
) -> dict[str, Any]:
    """Activate every ready RFC (or those listed); returns the ``buzon activate --json`` object."""
    settings = Settings()
    store = Keystore.open(Path(keystore), os.environ)
    wanted = None if rfcs is None else sorted({compact(r) for r in rfcs})
    plan = plan_task(settings, wanted)
    res = Resultado(not_ready=plan.not_ready, already_active=plan.already_active)
    listos = plan.activated
    futures = [
        activate_chunk_task.submit(settings, store, listos[i : i + chunk_size])
        for i in range(0, len(listos), chunk_size)
    ]
    for future in futures:
        res.merge(future.result())
    return res.summary()
