"""``buzon acuses``: export issued acuses, their PDFs and the signed bundles."""

from __future__ import annotations

import json
from pathlib import Path

import click

__commands__ = ["acuses"]


@click.command()
@click.option("--rfc", "rfcs", multiple=True, help="Solo los acuses de este RFC (repetible).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Carpeta de salida.")
@click.option("--pdf", "con_pdf", is_flag=True, help="También un PDF por acuse en OUT/pdf/.")
@click.option(
    "--bundles",
    "con_paquetes",
    is_flag=True,
    help="También un paquete BagIt firmado por RFC en OUT/acuses/<RFC>.zip.",
)
@click.option(
    "--pagina",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Tamaño de página de los PDF.",
)
@click.option("--json", "as_json", is_flag=True, help="Imprime un objeto JSON.")
def acuses(
    rfcs: tuple[str, ...],
    out: Path,
    con_pdf: bool,
    con_paquetes: bool,
    pagina: str,
    as_json: bool,
) -> None:
    """Exporta los acuses: OUT/acuses.jsonl y el certificado del sello OUT/sello.pem.

    Cualquier sello se comprueba solo con openssl (ver docs/FOLIOS_Y_ACUSES.md). Con --pdf
    escribe además un PDF imprimible por acuse (OUT/pdf/<folio>-<tipo>.pdf); con --bundles, un
    paquete firmado por RFC (OUT/acuses/<RFC>.zip) que `buzon verify` comprueba.

    \b
    Ejemplo:
      buzon acuses --rfc EKU9003173C9 --out salida/acuses --pdf --bundles
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
    wanted = sorted({compact(r) for r in rfcs}) or None
    with read_connection(get_engine(settings)) as conn:
        if wanted is None or len(wanted) == 1:
            n = exportar(conn, sello, out, rfc=wanted[0] if wanted else None)
        else:
            n = exportar(conn, sello, out, rfcs=wanted)
    summary = {
        "acuses": n,
        "archivo": str(out / "acuses.jsonl"),
        "certificado": str(out / "sello.pem"),
    }
    if con_pdf:
        from reports.acuses_pdf import escribir_pdfs

        summary["pdf"] = escribir_pdfs(settings, out / "pdf", rfcs=wanted, pagina=pagina)
    if con_paquetes:
        from reports.bundle import escribir_bundles

        zips = escribir_bundles(settings, out / "acuses", rfcs=wanted, pagina=pagina)
        summary["bundles"] = [str(z) for z in zips]
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    click.echo(f"{n:,} acuses en {out / 'acuses.jsonl'}; certificado en {out / 'sello.pem'}")
    if con_pdf:
        click.echo(f"{summary['pdf']:,} PDF en {out / 'pdf'}")
    if con_paquetes:
        click.echo(f"{len(zips):,} paquetes en {out / 'acuses'} (compruébelos con buzon verify)")
