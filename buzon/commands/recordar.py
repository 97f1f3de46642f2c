"""``buzon recordar``: one reminder before the deadline to each medium still pending."""

from __future__ import annotations

import json

import click

__commands__ = ["recordar"]

_MOTIVOS = {
    "ya_recordado": "ya recibieron su recordatorio",
    "codigo_anulado": "su código o enlace ya no es válido",
    "validado": "ya están validados",
    "no_pendiente": "ya no están pendientes",
    "envio_fallido": "el envío falló de forma permanente",
    "reintento_programado": "el envío se reintentará",
}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Imprime un objeto JSON con los conteos.")
def recordar(as_json: bool) -> None:
    """Envía un recordatorio a cada medio de contacto pendiente cuyo plazo vence pronto.

    Cada medio enviado y sin validar cuyo plazo vence dentro de BUZON_RECORDATORIO_HORAS
    (24 por omisión) recibe UN recordatorio con el mismo enlace o código de su último envío: no
    es un envío nuevo (no cuenta para el máximo de 5) y no cambia el plazo. Volver a ejecutarlo
    no envía nada más. Los transportes son los de `buzon send`.

    \b
    Ejemplo:
      buzon recordar --json
      {"reminded": 3, "skipped": {"ya_recordado": 12, "validado": 40}}
    """
    from buzon.settings import Settings
    from delivery.remind import remind

    stats = remind(Settings())
    if as_json:
        click.echo(json.dumps(stats.as_json(), ensure_ascii=False))
        return
    click.echo(f"recordatorios enviados: {stats.reminded}")
    for razon, n in sorted(stats.skipped.items()):
        click.echo(f"  sin recordatorio: {n} ({_MOTIVOS.get(razon, razon)})")
