"""``buzon acuses``: export issued acuses and the institution certificate."""

from __future__ import annotations

from pathlib import Path

import click

__commands__ = ["acuses"]


@click.command()
@click.option("--rfc", help="Only the acuses of this RFC.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output directory.")
def acuses(rfc: str | None, out: Path) -> None:
    """Export acuses as OUT/acuses.jsonl and the seal certificate as OUT/sello.pem.

    Any sello can then be checked with openssl alone (see docs/FOLIOS_Y_ACUSES.md).

    \b
    Example:
      buzon acuses --rfc EKU9003173C9 --out salida/acuses
    """
    from buzon.settings import Settings
    from registry.db import get_engine, read_connection
    from registry.export import exportar
    from schemas.rfc import compact
    from signers.seal import Sello

    settings = Settings()
    sello = Sello.load(settings)
    with read_connection(get_engine(settings)) as conn:
        n = exportar(conn, sello, out, rfc=compact(rfc) if rfc else None)
    click.echo(f"{n:,} acuses en {out / 'acuses.jsonl'}; certificado en {out / 'sello.pem'}")
