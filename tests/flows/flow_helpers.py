"""Helpers for flow tests: the sample upload and a competing writer."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from buzon.settings import Settings
from registry.apply import apply_entries
from registry.db import get_engine

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"


def take_rp(settings: Settings, accepted: pl.DataFrame, rfc: str = "XAXX010101AB1") -> int:
    """Register every RP of ``accepted`` under another RFC, as a writer racing the plan would.

    Returns how many entries of ``accepted`` name an RP (they are the ones apply must skip).
    """
    with_rp = accepted.filter(pl.col("rp").is_not_null())
    rival = with_rp.unique("rp", maintain_order=True).with_columns(
        rfc=pl.lit(rfc), nombre=pl.lit("Rival"), mecanismo=pl.lit("correo"),
        medio=pl.lit("rival@competidor.mx"),
    )  # fmt: skip
    apply_entries(get_engine(settings), settings, rival, now=settings.clock())
    return with_rp.height
