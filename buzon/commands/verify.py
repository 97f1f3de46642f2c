"""``buzon verify``: check signed bundles and acuse exports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

__commands__ = ["verify"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--certificado",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Certificado (PEM) del sello institucional esperado; sin él se usa el de cada paquete.",
)
@click.option("--json", "as_json", is_flag=True, help="Imprimir un objeto JSON.")
def verify(paths: tuple[Path, ...], certificado: Path | None, as_json: bool) -> None:
    """Comprueba paquetes de acuses (<RFC>.zip) y exportaciones (acuses.jsonl).

    En un paquete revisa la firma del manifiesto, que los archivos sean exactamente los del
    manifiesto (ni de más ni de menos, sin rutas absolutas, '..' ni enlaces), cada SHA-256, cada
    sello contra su cadena original y cada firma de términos y condiciones contra su
    certificado. En un acuses.jsonl, cada sello. Termina con código distinto de cero si algo falla
    y nombra el archivo que falla.

    \b
    Ejemplo:
      buzon verify salida/reporte/acuses/*.zip
      buzon verify salida/acuses/acuses.jsonl --json
    """
    from buzon.errors import ConfigError
    from reports.verify import resumen, verificar

    pem = None
    if certificado is not None:
        try:
            pem = certificado.read_bytes()
        except OSError as exc:
            raise ConfigError(f"no se puede leer el certificado: {exc.strerror}") from None
    resultados = [verificar(p, pem) for p in paths]
    datos = resumen(resultados)
    if as_json:
        click.echo(json.dumps(datos, ensure_ascii=False))
    else:
        for r in resultados:
            demo = " (sello de demostración)" if r.demo else ""
            if not r.fallas:
                n = r.acuses
                cuantos = "1 acuse verificado" if n == 1 else f"{n} acuses verificados"
                click.echo(f"CORRECTO  {r.path}: {cuantos}{demo}")
                continue
            click.echo(f"FALLA     {r.path}: {len(r.fallas)} problema(s)")
            for f in r.fallas[:20]:
                click.echo(f"          {f['file'] or '(paquete)'}: {f['reason']}")
            if len(r.fallas) > 20:
                click.echo(f"          … y {len(r.fallas) - 20} más")
    if not datos["ok"]:
        sys.exit(1)
