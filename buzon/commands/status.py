"""``buzon status``: media counts by state, per RFC and per RP."""

from __future__ import annotations

import json

import click

__commands__ = ["status"]


@click.command()
@click.option("--rfc", help="Solo este RFC (estado 1 si no está registrado).")
@click.option(
    "--por-rp", is_flag=True, help="Lista también cada Registro Patronal (siempre con --rfc)."
)
@click.option("--json", "as_json", is_flag=True, help="Imprime un objeto JSON (por_estado, ...).")
def status(rfc: str | None, por_rp: bool, as_json: bool) -> None:
    """Muestra cuántos medios hay en cada estado: en total, por RFC y por Registro Patronal.

    \b
    Ejemplo:
      buzon status --rfc EKU9003173C9 --json
    """
    from buzon.settings import Settings
    from registry.db import get_engine, read_connection
    from registry.reader import count_estados
    from schemas.rfc import compact

    settings = Settings()
    with read_connection(get_engine(settings)) as conn:
        data = count_estados(conn, compact(rfc) if rfc else None)
    if rfc and not data["rfcs"]:
        from buzon.errors import NotFoundError

        raise NotFoundError(f"el RFC {compact(rfc)} no está registrado (ningún medio de contacto)")
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    estados = list(data["por_estado"])
    rps_by_rfc: dict[str, list[dict]] = {}
    if por_rp or rfc:
        for item in data["rps"]:
            rps_by_rfc.setdefault(item["rfc"], []).append(item)
    table = Table(title="Medios de contacto por estado")
    table.add_column("RFC / RP", no_wrap=True)
    for e in estados:
        table.add_column(e, justify="right")
    table.add_row("[bold]Total[/bold]", *(str(data["por_estado"][e]) for e in estados))
    for item in data["rfcs"]:
        table.add_row(item["rfc"], *(str(item["por_estado"][e]) for e in estados))
        for rp in rps_by_rfc.get(item["rfc"], []):
            table.add_row(f"  {rp['rp']}", *(str(rp["por_estado"][e]) for e in estados))
    Console(width=max(Console().width, 120)).print(table)
    act = data["activacion"]
    click.echo(
        f"RFC activados: {act['activado']} (antes del 06/08/2024: {act['activado_previo']}); "
        f"pendientes: {act['pendiente']}"
    )
    if not (por_rp or rfc) and data["rps"]:
        click.echo(f"({len(data['rps'])} registros patronales; detalle con --por-rp o --rfc)")
