"""``buzon activate``: sign the Terms and Conditions with each ready RFC's e.firma.

Two ways, one acuse: ``--keystore`` (the operator holds the keys) or signing requests
(``--solicitudes`` out, the holders sign on their own machines, ``--firmas`` back in).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

__commands__ = ["activate"]


def _print_not_ready(not_ready: dict[str, list[str]]) -> None:
    for rfc, reasons in sorted(not_ready.items()):
        click.echo(f"no listo  {rfc}: {'; '.join(reasons)}")


@click.command()
@click.option(
    "--keystore",
    type=click.Path(path_type=Path),
    help="Carpeta con <RFC>.cer, <RFC>.key y passwords.csv (rfc,password; permisos 600).",
)
@click.option(
    "--solicitudes",
    type=click.Path(path_type=Path),
    help="Escribe una solicitud de firma por RFC listo en DIR/<RFC>/ (la firma su titular).",
)
@click.option(
    "--firmas",
    type=click.Path(path_type=Path),
    help="Importa las solicitudes firmadas de DIR/<RFC>/ (firma.b64 y efirma.cer) y activa.",
)
@click.option("--rfc", "rfcs", multiple=True, help="Solo este RFC (repetible). Por omisión: todos.")
@click.option(
    "--renovar",
    is_flag=True,
    help="Con --solicitudes: reemplaza las solicitudes abiertas por nuevas.",
)
@click.option("--json", "as_json", is_flag=True, help="Imprime un objeto JSON.")
def activate(
    keystore: Path | None,
    solicitudes: Path | None,
    firmas: Path | None,
    rfcs: tuple[str, ...],
    renovar: bool,
    as_json: bool,
) -> None:
    """Activa cada RFC listo: su e.firma firma los términos y se emite el acuse de términos.

    Listo = al menos un correo y un celular validados en el alcance del RFC, aún sin activar.
    Elija una forma:

    \b
    --keystore DIR     el operador tiene cada <RFC>.cer/.key; contraseñas en DIR/passwords.csv
                       o BUZON_EFIRMA_PASSWORD_<RFC>, nunca en la línea de comandos.
    --solicitudes DIR  escribe DIR/<RFC>/cadena.txt, terminos.txt y LEEME.txt; cada titular firma
                       en su propio equipo (buzon efirma firmar, u openssl) y devuelve la carpeta
                       con firma.b64 y efirma.cer. La llave nunca sale de manos del titular.
                       Repetir devuelve la misma solicitud hasta usarla o --renovar.
    --firmas DIR       revisa cada firma devuelta (solicitud abierta de este registro, cada
                       revisión de la e.firma, la firma sobre la solicitud exacta) y activa.

    Una e.firma con problemas nunca detiene a las demás; repetir no activa nada dos veces.
    Sale con estado 1 si alguna firma o e.firma falló.

    \b
    Ejemplo:
      buzon activate --keystore efirmas/ --json
      buzon activate --solicitudes solicitudes/ --rfc EKU9003173C9
      buzon activate --firmas solicitudes/ --json
    """
    from buzon.errors import ConfigError
    from buzon.settings import Settings
    from registry.db import get_engine

    chosen = [
        o
        for o, v in (("--keystore", keystore), ("--solicitudes", solicitudes), ("--firmas", firmas))
        if v is not None
    ]
    if len(chosen) != 1:
        raise ConfigError("indique exactamente una opción: --keystore, --solicitudes o --firmas")
    if renovar and solicitudes is None:
        raise ConfigError("--renovar solo se usa con --solicitudes")
    if rfcs and firmas is not None:
        raise ConfigError("--rfc no se usa con --firmas: se importa cada carpeta firmada")
    settings = Settings()
    engine = get_engine(settings)
    if solicitudes is not None:
        from registry.firmas import write_solicitudes

        out = write_solicitudes(
            engine, settings, solicitudes, rfcs=list(rfcs) or None, renovar=renovar
        )
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False))
        else:
            click.echo(f"solicitudes escritas en {solicitudes}: {out['requests']:,}")
            _print_not_ready(out["not_ready"])
        return
    if firmas is not None:
        from registry.firmas import import_firmas

        out = import_firmas(engine, settings, firmas)
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False))
        else:
            click.echo(f"activados: {out['activated']:,}")
            _print_not_ready(out["not_ready"])
            for rfc, code in out["failed"].items():
                click.echo(f"falló     {rfc}: {code}")
        if out["failed"]:
            raise click.exceptions.Exit(1)
        return

    from registry.activate import Keystore, activar

    assert keystore is not None
    # The per-RFC password variables are read here, at the entry point, and nowhere else.
    store = Keystore.open(keystore, os.environ)
    res = activar(engine, settings, store, list(rfcs) or None)
    if as_json:
        summary = res.summary() | {"activated_rfcs": sorted(res.activated)}
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(f"activados: {len(res.activated):,}")
        for rfc in sorted(res.activated):
            click.echo(f"activado  {rfc}")
        if res.already_active:
            click.echo(f"ya activados antes: {len(res.already_active):,}")
        _print_not_ready(res.not_ready)
        for rfc, exc in sorted(res.failed.items()):
            click.echo(f"falló     {rfc}: {exc.code}: {exc.message}")
    if res.failed:
        raise click.exceptions.Exit(1)
