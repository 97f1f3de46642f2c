"""The scheduled deployments that ``buzon schedule`` serves, and how they are served.

Reconcile every 15 minutes; reminders hourly; the report daily at 07:00 (all in Mexico City
time). ``cada`` (seconds) replaces every schedule with that interval, for tests and demos.
Without ``PREFECT_API_URL`` a local Prefect server is started (``flows.server``): Prefect's
ephemeral API cannot schedule runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from prefect import Flow, serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron, Interval
from prefect.settings import PREFECT_API_URL, temporary_settings

from buzon.settings import Settings
from flows.reconcile import reconcile_flow
from flows.remind import remind_flow
from flows.server import local_server, prefect_env

ZONA = "America/Mexico_City"


@dataclass(frozen=True)
class Programa:
    """One deployment: its flow, name, cron (Mexico City time) and what it is for."""

    flow: Flow
    nombre: str
    cron: str
    descripcion: str


def programas(cron_reconcile: str = "*/15 * * * *") -> list[Programa]:
    """The deployments, in the order they are listed to the operator."""
    return [
        Programa(
            reconcile_flow,
            "buzon-reconcile",
            cron_reconcile,
            "Importa la bandeja de eventos, aplica lo nuevo y vence lo que pasó de 72 horas.",
        ),
        Programa(
            remind_flow,
            "buzon-recordar",
            "0 * * * *",
            "Recuerda su enlace o código a cada medio pendiente que vence en 24 horas o menos.",
        ),
    ]


def _deployments(lista: list[Programa], cada: int | None) -> list:
    out = []
    for p in lista:
        schedule = Interval(cada) if cada else Cron(p.cron, timezone=ZONA)
        out.append(
            # By module path: loaded as a script, flows/reconcile.py would shadow the reconcile
            # package (the script's folder goes first on sys.path).
            p.flow.to_deployment(
                name=p.nombre,
                schedule=schedule,
                description=p.descripcion,
                entrypoint_type=EntrypointType.MODULE_PATH,
                # One run at a time; a run due while another is still going is dropped, not
                # queued: the next one does the same work.
                concurrency_limit=ConcurrencyLimitConfig(
                    limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
                ),
            )
        )
    return out


def serve_schedules(
    settings: Settings,
    lista: list[Programa],
    *,
    cada: int | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve ``lista`` until stopped, on ``PREFECT_API_URL`` or on a local server of our own."""
    if os.environ.get("PREFECT_API_URL"):
        announce(f"Servidor de Prefect: {os.environ['PREFECT_API_URL']}")
        serve(*_deployments(lista, cada), print_starting_message=False)
        return
    home = settings.home / "prefect"
    os.environ.update(prefect_env(home))
    announce(f"Iniciando un servidor local de Prefect en {home} …")
    with local_server(home) as url:
        # Flow runs execute in child processes: they read the API address from the environment.
        os.environ["PREFECT_API_URL"] = url
        announce(f"Servidor de Prefect: {url}")
        try:
            with temporary_settings(updates={PREFECT_API_URL: url}):
                serve(*_deployments(lista, cada), print_starting_message=False)
        finally:
            os.environ.pop("PREFECT_API_URL", None)
