"""``buzon activate``: sign the Terms and Conditions with each ready RFC's e.firma."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

__commands__ = ["activate"]


@click.command()
@click.option(
    "--keystore",
    required=True,
    type=click.Path(path_type=Path),
    help="Carpeta con <RFC>.cer, <RFC>.key y passwords.csv (rfc,password; permisos 600).",
)
@click.option("--rfc", "rfcs", multiple=True, help="Solo este RFC (repetible). Sin ella: todos.")
@click.option("--json", "as_json", is_flag=True, help="Imprime un objeto JSON.")
def activate(keystore: Path, rfcs: tuple[str, ...], as_json: bool) -> None:
    """Activa cada RFC listo: revisa su e.firma, firma los TyC y emite el acuse de términos.

    Listo = al menos un correo y un celular validados con alcance de RFC, aún sin activar. Las
    contraseñas vienen de KEYSTORE/passwords.csv o de BUZON_EFIRMA_PASSWORD_<RFC>, nunca de la
    línea de comandos. Se nombran los RFC activados; los no listos, con lo que les falta; los de
    e.firma fallida, con su código EFIRMA_*. Una e.firma mala no detiene a las demás. Repetirlo no
    activa nada dos veces. Termina con estado 1 si alguna e.firma falló.

    \b
    Ejemplo:
      buzon activate --keystore efirmas/ --json
      buzon activate --keystore efirmas/ --rfc EKU9003173C9 --rfc XIQB891116QE4
    """
    from buzon.settings import Settings
    from registry.activate import Keystore, activar
    from registry.db import get_engine

    settings = Settings()
    # The per-RFC password variables are read here, at the entry point, and nowhere else.
    store = Keystore.open(keystore, os.environ)
    res = activar(get_engine(settings), settings, store, list(rfcs) or None)
    if as_json:
        summary = res.summary() | {"activated_rfcs": sorted(res.activated)}
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(f"activados: {len(res.activated):,}")
        for rfc in sorted(res.activated):
            click.echo(f"activado  {rfc}")
        if res.already_active:
            click.echo(f"ya activados antes: {len(res.already_active):,}")
        for rfc, reasons in sorted(res.not_ready.items()):
            click.echo(f"no listo  {rfc}: {'; '.join(reasons)}")
        for rfc, exc in sorted(res.failed.items()):
            click.echo(f"falló     {rfc}: {exc.code}: {exc.message}")
    if res.failed:
        raise click.exceptions.Exit(1)
