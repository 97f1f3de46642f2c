"""The report's sheets as files: ``estado.xlsx`` (openpyxl, write-only) and the CSVs.

Every text cell goes through the one neutralizer (``reports.safe``); instants are shown in
America/Mexico_City (xlsx: real Excel dates; CSV: ``AAAA-MM-DD HH:MM``). No cell is a formula.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from buzon.files import atomic_write
from reports.estado import TZ, Reporte
from reports.safe import neutralize_all

FECHA_XLSX = "dd/mm/yyyy hh:mm"
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


def _hoja(wb: Workbook, titulo: str, frame: pl.DataFrame) -> None:
    ws = wb.create_sheet(titulo)
    columnas = frame.columns
    for i, ancho in enumerate(_anchos(frame), start=1):
        ws.column_dimensions[get_column_letter(i)].width = ancho
    ws.freeze_panes = "A2"
    ultima = get_column_letter(max(len(columnas), 1))
    ws.auto_filter.ref = f"A1:{ultima}{frame.height + 1}"
    negrita = Font(bold=True, color="FFFFFF")
    fondo = PatternFill("solid", fgColor="1F4E78")
    encabezado = []
    for c in columnas:
        cell = WriteOnlyCell(ws, value=c)
        cell.font = negrita
        cell.fill = fondo
        cell.alignment = Alignment(vertical="center")
        encabezado.append(cell)
    ws.append(encabezado)
    fechas = [i for i, t in enumerate(frame.dtypes) if isinstance(t, pl.Datetime)]
    local = _local(frame)
    for row in local.iter_rows():
        if fechas:
            row = list(row)
            for i in fechas:
                if row[i] is not None:
                    cell = WriteOnlyCell(ws, value=row[i])
                    cell.number_format = FECHA_XLSX
                    row[i] = cell
        ws.append(row)


def escribir_xlsx(rep: Reporte, path: Path) -> None:
    """``estado.xlsx``: the five sheets, bold frozen header, autofilter, widths, real dates."""
    wb = Workbook(write_only=True)
    for titulo, attr in HOJAS.items():
        _hoja(wb, titulo, limpiar(getattr(rep, attr)))
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write(path, buffer.getvalue())


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
