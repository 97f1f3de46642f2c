"""Prefect flow: activate the ready RFCs chunk by chunk (``registry.activate`` does the work).

Only the keystore folder and RFC list are flow parameters (Prefect records those); passwords are
read from ``passwords.csv`` and ``BUZON_EFIRMA_PASSWORD_<RFC>`` inside the run, never passed as
parameters, and the tasks do not cache on their inputs. The run loads its resources once (engine,
institution seal, T&C text, trusted SAT roots, the instant) and hands them to every chunk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from buzon.settings import Settings
from flows.merge import merge
from registry.activate import Keystore, Resultado, activar_chunk, candidatos
from registry.db import get_engine
from schemas.rfc import compact
from signers.efirma import load_trusted
from signers.seal import Sello
from signers.tyc import Tyc
from signers.tyc import cargar as cargar_tyc


@dataclass(frozen=True)
class Resources:
    """What every chunk of one run shares; loaded once per run, never per chunk."""

    settings: Settings
    engine: Engine
    tyc: Tyc
    sello: Sello
    trusted: list[x509.Certificate] | None
    now: datetime

    @classmethod
    def load(cls, settings: Settings) -> Resources:
        return cls(
            settings=settings,
            engine=get_engine(settings),
            tyc=cargar_tyc(settings),
            sello=Sello.load(settings),
            trusted=load_trusted(settings.sat_ca_dir),
            now=settings.clock(),
        )


@task(cache_policy=NO_CACHE)
def plan_task(resources: Resources, rfcs: list[str] | None) -> Resultado:
    """Who is ready (``activated`` holds the ready RFCs), who is not and why."""
    with resources.engine.connect() as conn:
        res = candidatos(conn, rfcs)
        conn.rollback()
    return res


# Re-running a chunk is safe: activated RFCs are skipped and a failed transaction left nothing.
@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def activate_chunk_task(resources: Resources, keystore: Keystore, rfcs: list[str]) -> Resultado:
    r = resources
    return activar_chunk(
        r.engine,
        r.settings,
        keystore,
        rfcs,
        tyc=r.tyc,
        sello=r.sello,
        trusted=r.trusted,
        now=r.now,
    )


@flow(name="buzon-activate")
def activate_flow(
    keystore: str, rfcs: list[str] | None = None, chunk_size: int = 500
) -> dict[str, Any]:
    """Activate every ready RFC (or those listed); returns the ``buzon activate --json`` object."""
    resources = Resources.load(Settings())
    store = Keystore.open(Path(keystore), os.environ)
    wanted = None if rfcs is None else sorted({compact(r) for r in rfcs})
    plan = plan_task(resources, wanted)
    listos = plan.activated
    futures = [
        activate_chunk_task.submit(resources, store, listos[i : i + chunk_size])
        for i in range(0, len(listos), chunk_size)
    ]
    total = Resultado(not_ready=plan.not_ready, already_active=plan.already_active)
    return merge(total, (f.result() for f in futures)).summary()
