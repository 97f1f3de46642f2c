"""``buzon acuses``: export issued acuses and the institution certificate."""

from __future__ import annotations

import json
from pathlib import Path

import click

__commands__ = ["acuses"]


@click.command()
@click.option("--rfc", help="Solo los acuses de este RFC.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Carpeta de salida.")
@click.option("--json", "as_json", is_flag=True, help="Imprime un objeto JSON.")
def acuses(rfc: str | None, out: Path, as_json: bool) -> None:
    """Exporta los acuses a OUT/acuses.jsonl y el certificado del sello a OUT/sello.pem.

    Cualquier sello se verifica después solo con openssl (ver docs/FOLIOS_Y_ACUSES.md).

    \b
    Ejemplo:
      buzon acuses --rfc EKU9003173C9 --out salida/acuses
    """
    from buzon.errors import InputError
    from buzon.settings import Settings
    from registry.db import get_engine, read_connection
    from registry.export import exportar
    from schemas.rfc import compact
    from signers.seal import Sello

    if out.exists() and not out.is_dir():
        raise InputError(f"--out debe ser una carpeta; {out} es un archivo")
    settings = Settings()
    sello = Sello.load(settings)
    with read_connection(get_engine(settings)) as conn:
        n = exportar(conn, sello, out, rfc=compact(rfc) if rfc else None)
    if as_json:
        summary = {
            "acuses": n,
            "archivo": str(out / "acuses.jsonl"),
            "certificado": str(out / "sello.pem"),
        }
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    click.echo(f"{n:,} acuses en {out / 'acuses.jsonl'}; certificado en {out / 'sello.pem'}")
