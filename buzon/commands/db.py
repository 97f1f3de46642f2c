"""``buzon db``: store maintenance."""

from __future__ import annotations

import click

__commands__ = ["db"]


@click.group()
def db() -> None:
    """Mantenimiento de la base de datos (migraciones del esquema).

    \b
    Ejemplo:
      buzon db upgrade
    """


@db.command()
def upgrade() -> None:
    """Lleva el esquema a la migración más reciente (también se hace en el primer uso).

    \b
    Ejemplo:
      BUZON_DATABASE_URL=postgresql+psycopg://buzon@db/buzon buzon db upgrade
    """
    from buzon.settings import Settings
    from registry.db import get_engine
    from registry.db import upgrade as migrate

    settings = Settings()
    engine = get_engine(settings, migrate=False)
    try:
        migrate(engine, settings)
    except Exception as exc:  # driver errors: one line, no traceback
        from buzon.errors import ConfigError

        raise ConfigError(f"no se pudo migrar la base de datos: {exc}") from None
    click.echo(f"Esquema al día en {engine.url.render_as_string(hide_password=True)}")
