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
    help="Folder with <RFC>.cer, <RFC>.key and passwords.csv (rfc,password; mode 600).",
)
@click.option("--rfc", "rfcs", multiple=True, help="Only this RFC (repeatable). Default: all.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def activate(keystore: Path, rfcs: tuple[str, ...], as_json: bool) -> None:
    """Activate every ready RFC: check its FIEL, sign the T&C, issue the acuse de términos.

    Ready = at least one validated email and one validated mobile at the RFC scope, not yet
    activated. Passwords come from KEYSTORE/passwords.csv or BUZON_EFIRMA_PASSWORD_<RFC>, never
    from the command line. RFCs not ready are listed with what they lack, RFCs whose FIEL fails
    with the EFIRMA_* code; one bad FIEL never stops the others. Re-running activates nothing
    twice. Exit status 1 when any FIEL failed.

    \b
    Example:
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
        click.echo(json.dumps(res.summary(), ensure_ascii=False))
    else:
        click.echo(f"activados: {len(res.activated):,}")
        if res.already_active:
            click.echo(f"ya activados antes: {len(res.already_active):,}")
        for rfc, reasons in sorted(res.not_ready.items()):
            click.echo(f"no listo  {rfc}: {'; '.join(reasons)}")
        for rfc, exc in sorted(res.failed.items()):
            click.echo(f"falló     {rfc}: {exc.code}: {exc.message}")
    if res.failed:
        raise click.exceptions.Exit(1)
