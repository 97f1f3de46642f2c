"""``buzon schedule``: serve the scheduled deployments until stopped."""

from __future__ import annotations

import click

__commands__ = ["schedule"]


def _cron(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from prefect.schedules import validate_cron_string

    try:
        validate_cron_string(value)
    except ValueError:
        raise click.BadParameter(
            f"no es una expresión cron válida: {value!r} (cinco campos: minuto hora "
            'día-del-mes mes día-de-la-semana, p. ej. "*/15 * * * *")'
        ) from None
    return value


@click.command()
@click.option(
    "--cron",
    default="*/15 * * * *",
    show_default=True,
    callback=_cron,
    help="Cuándo conciliar (sintaxis cron, hora de la Ciudad de México).",
)
@click.option(
    "--cada",
    type=click.IntRange(min=1),
    default=None,
    metavar="SEGUNDOS",
    help="Sustituye todos los horarios por este intervalo (pruebas y demostraciones).",
)
def schedule(cron: str, cada: int | None) -> None:
    """Ejecuta las tareas programadas hasta que se detenga (Ctrl-C).

    Conciliación cada 15 minutos (importa la bandeja de eventos $BUZON_HOME/eventos/entrada).
    Recordatorios cada hora (`buzon recordar`: el mismo enlace o código a cada medio pendiente
    que vence en BUZON_RECORDATORIO_HORAS, 24 por omisión).
    Con PREFECT_API_URL usa ese servidor de Prefect; sin él, inicia uno local en
    $BUZON_HOME/prefect y lo detiene al salir. Para varias máquinas, use prefect.yaml con
    `prefect deploy --all` y trabajadores de Prefect.

    \b
    Ejemplo:
      buzon schedule
      buzon schedule --cada 60
    """
    from buzon.settings import Settings
    from flows.schedule import programas, serve_schedules

    settings = Settings()
    lista = programas(cron_reconcile=cron)
    for p in lista:
        cuando = f"cada {cada} s" if cada else f"cron {p.cron!r} ({'America/Mexico_City'})"
        click.echo(f"  {p.nombre}: {cuando} — {p.descripcion}", err=True)
    serve_schedules(settings, lista, cada=cada, announce=lambda m: click.echo(m, err=True))
