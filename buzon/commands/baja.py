"""``buzon baja``: remove one contact medium (acuse de baja)."""

from __future__ import annotations

import json

import click

__commands__ = ["baja"]


@click.command()
@click.option("--rfc", required=True, help="RFC dueño del medio.")
@click.option("--medio", required=True, help="Correo o celular de 10 dígitos que se da de baja.")
@click.option("--json", "as_json", is_flag=True, help="Imprime un objeto JSON.")
def baja(rfc: str, medio: str, as_json: bool) -> None:
    """Da de baja un medio de contacto activo de un RFC y emite su acuse de baja.

    \b
    Ejemplo:
      buzon baja --rfc EKU9003173C9 --medio rh@empresa.mx
    """
    from buzon.settings import Settings
    from registry.baja import baja_medio
    from registry.db import get_engine

    settings = Settings()
    with get_engine(settings).begin() as conn:
        folio = baja_medio(conn, settings, rfc, medio)
    if as_json:
        click.echo(json.dumps({"rfc": rfc, "medio": medio, "folio": folio}, ensure_ascii=False))
        return
    click.echo(f"Medio dado de baja; acuse de baja con folio {folio}")
