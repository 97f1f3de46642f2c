"""``buzon baja``: remove one contact medium (acuse de baja)."""

from __future__ import annotations

import click

__commands__ = ["baja"]


@click.command()
@click.option("--rfc", required=True, help="RFC that owns the medium.")
@click.option("--medio", required=True, help="The email or 10-digit mobile to remove.")
def baja(rfc: str, medio: str) -> None:
    """Remove one active contact medium of an RFC and issue its acuse de baja.

    \b
    Example:
      buzon baja --rfc EKU9003173C9 --medio rh@empresa.mx
    """
    from buzon.settings import Settings
    from registry.baja import baja_medio
    from registry.db import get_engine

    settings = Settings()
    with get_engine(settings).begin() as conn:
        folio = baja_medio(conn, settings, rfc, medio)
    click.echo(f"Medio dado de baja; acuse de baja con folio {folio}")
