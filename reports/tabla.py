"""The report's sheets as files: ``estado.xlsx`` (``reports.xlsx``) and the CSVs.

Every text cell goes through the one neutralizer (``reports.safe``); instants are shown in
America/Mexico_City (xlsx: real Excel dates; CSV: ``AAAA-MM-DD HH:MM``). No cell is a formula.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from reports import xlsx
from reports.estado import TZ, Reporte
from reports.safe import neutralize_all

FECHA_CSV = "%Y-%m-%d %H:%M"
# Characters XML 1.0 (and so xlsx) cannot hold; a hostile name may carry them.
_ILEGALES = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"

HOJAS = {
    "Por RP": "por_rp",
    "Por RFC": "por_rfc",
    "Medios": "medios",
    "Aclaraciones": "aclaraciones",
    "Rechazos": "rechazos",
}


def _local(frame: pl.DataFrame) -> pl.DataFrame:
    """Instants as Mexico City wall time without zone (what a spreadsheet date is)."""
    return frame.with_columns(
        pl.col(c).dt.convert_time_zone(TZ).dt.replace_time_zone(None)
        for c, t in frame.schema.items()
        if isinstance(t, pl.Datetime)
    )


def limpiar(frame: pl.DataFrame) -> pl.DataFrame:
    """Neutralized text (and, for xlsx, no XML-illegal characters)."""
    frame = neutralize_all(frame)
    return frame.with_columns(
        pl.col(c).str.replace_all(_ILEGALES, "") for c, t in frame.schema.items() if t == pl.String
    )


def _anchos(frame: pl.DataFrame) -> list[float]:
    muestra = frame.head(2000)
    anchos = []
    for c, t in frame.schema.items():
        if isinstance(t, pl.Datetime):
            n = 16
        else:
            largo = muestra[c].cast(pl.String).str.len_chars().max()
            n = int(largo or 0)
        anchos.append(min(max(n, len(c)) + 2, 60))
    return anchos


def escribir_xlsx(rep: Reporte, path: Path) -> None:
    """``estado.xlsx``: the five sheets, bold frozen header, autofilter, widths, real dates."""
    hojas = []
    for titulo, attr in HOJAS.items():
        frame = limpiar(getattr(rep, attr))
        hojas.append((titulo, _local(frame), _anchos(frame)))
    xlsx.escribir(hojas, path)


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 with BOM (Excel then shows the accents), neutralized text, local times."""
    safe = neutralize_all(frame)
    safe = safe.with_columns(
        pl.col(c).dt.convert_time_zone(TZ).dt.strftime(FECHA_CSV)
        for c, t in safe.schema.items()
        if isinstance(t, pl.Datetime)
    )
    buffer = io.BytesIO()
    safe.write_csv(buffer)
    return b"\xef\xbb\xbf" + buffer.getvalue()
