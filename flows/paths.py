"""Where the pipeline writes its outputs by default (no Prefect import: the CLI reads it first)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from buzon.settings import Settings

ZONA = "America/Mexico_City"


def default_out(settings: Settings) -> Path:
    """``$BUZON_HOME/reportes/<AAAAMMDD>``, dated in Mexico City (where the operator reads it)."""
    fecha = settings.clock().astimezone(ZoneInfo(ZONA))
    return settings.home / "reportes" / fecha.strftime("%Y%m%d")
