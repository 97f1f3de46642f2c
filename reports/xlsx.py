"""A small xlsx writer whose sheet XML is built column by column by polars.

Why not openpyxl: measured in ``bench/report.py``, openpyxl's write-only mode spends ~30 µs a
cell in Python (a Cell object, its style, an lxml event each); a 100,000-RP report has ~3.5
million cells, i.e. minutes against a read of seconds (target: report <= 3x the read). Here each
column's cells are one polars string expression (``<c r="B7" t="inlineStr">…</c>``), rows are
concatenated in polars and streamed into the ZIP in slices, so memory stays bounded.

What it writes (and openpyxl reads back in the tests): inline strings (XML-escaped; the text is
already neutralized and free of XML-illegal characters, see ``reports.tabla.limpiar``), integers
and floats as numbers, datetimes as real Excel dates (serial days, style ``dd/mm/yyyy hh:mm``),
a bold header on a filled band, the header frozen, an autofilter over the data, column widths.
There are no formulas: no cell has an ``<f>`` element.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import polars as pl
from openpyxl.utils import get_column_letter

FILAS_POR_TROZO = 50_000
FECHA_ZIP = (1980, 1, 1, 0, 0, 0)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
CABECERA_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
ESTILOS = (
    CABECERA_XML + f"<styleSheet {NS}>"
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FF1F4E78"/><bgColor indexed="64"/>'
    "</patternFill></fill></fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
EXCEL_EPOCH = pl.datetime(1899, 12, 30)


def _celda(col: str, letra: str, tipo: pl.DataType) -> pl.Expr:
    """One column's cells as XML text ('' for a null), ``r`` taken from the ``_r`` column."""
    ref = pl.lit(f'<c r="{letra}') + pl.col("_r")
    v = pl.col(col)
    if tipo == pl.String:
        texto = v.str.replace_all("&", "&amp;", literal=True)
        texto = texto.str.replace_all("<", "&lt;", literal=True).str.replace_all(
            ">", "&gt;", literal=True
        )
        xml = ref + pl.lit('" t="inlineStr"><is><t xml:space="preserve">') + texto
        xml = xml + pl.lit("</t></is></c>")
    elif isinstance(tipo, pl.Datetime):
        serial = (v - EXCEL_EPOCH).dt.total_microseconds().cast(pl.Float64) / 86_400_000_000
        xml = ref + pl.lit('" s="2"><v>') + serial.round(8).cast(pl.String) + pl.lit("</v></c>")
    else:
        xml = ref + pl.lit('"><v>') + v.cast(pl.String) + pl.lit("</v></c>")
    return xml.fill_null("")


def _preparar(frame: pl.DataFrame) -> pl.DataFrame:
    """Booleans as «sí»/«no»; other kinds as text unless numeric or datetime (zone dropped:
    callers pass local wall time)."""
    cols = []
    for c, t in frame.schema.items():
        if t == pl.Boolean:
            cols.append(pl.when(pl.col(c)).then(pl.lit("sí")).otherwise(pl.lit("no")).alias(c))
        elif isinstance(t, pl.Datetime):
            cols.append(pl.col(c).dt.replace_time_zone(None))
        elif t.is_numeric() or t == pl.String:
            cols.append(pl.col(c))
        else:
            cols.append(pl.col(c).cast(pl.String))
    return frame.select(cols)


def _hoja(fh, frame: pl.DataFrame, anchos: list[float]) -> None:  # noqa: ANN001
    n_cols = max(len(frame.columns), 1)
    ultima = get_column_letter(n_cols)
    ref = f"A1:{ultima}{frame.height + 1}"
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w:.1f}" customWidth="1"/>'
        for i, w in enumerate(anchos, start=1)
    )
    fh.write(
        (
            CABECERA_XML + f"<worksheet {NS} {NS_R}>"
            f'<dimension ref="{ref}"/>'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols}</cols>" if cols else "")
            + "<sheetData>"
        ).encode()
    )
    encabezado = "".join(
        f'<c r="{get_column_letter(i)}1" s="1" t="inlineStr"><is><t>{escape(c)}</t></is></c>'
        for i, c in enumerate(frame.columns, start=1)
    )
    fh.write(f'<row r="1">{encabezado}</row>'.encode())
    datos = _preparar(frame)
    celdas = [
        _celda(c, get_column_letter(i), t) for i, (c, t) in enumerate(datos.schema.items(), start=1)
    ]
    for inicio in range(0, datos.height, FILAS_POR_TROZO):
        trozo = datos.slice(inicio, FILAS_POR_TROZO).with_columns(
            pl.int_range(inicio + 2, inicio + 2 + min(FILAS_POR_TROZO, datos.height - inicio))
            .cast(pl.String)
            .alias("_r")
        )
        filas = trozo.select(
            pl.concat_str(
                [pl.lit('<row r="'), pl.col("_r"), pl.lit('">'), *celdas, pl.lit("</row>")]
            ).alias("x")
        )["x"]
        fh.write(filas.str.join("").item().encode("utf-8"))
    fh.write(f'</sheetData><autoFilter ref="{ref}"/></worksheet>'.encode())


def escribir(hojas: list[tuple[str, pl.DataFrame, list[float]]], path: Path) -> None:
    """Write the workbook (``(title, frame, column widths)`` per sheet) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:

            def add(name: str, text: str) -> None:
                zf.writestr(zipfile.ZipInfo(name, FECHA_ZIP), text.encode("utf-8"),
                            compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip

            overrides = "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, len(hojas) + 1)
            )
            add(
                "[Content_Types].xml",
                CABECERA_XML
                + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxml'
                'formats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxml'
                'formats-officedocument.spreadsheetml.styles+xml"/>' + overrides + "</Types>",
            )
            add(
                "_rels/.rels",
                CABECERA_XML
                + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                "</Relationships>",
            )
            rels = "".join(
                f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/'
                f'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(hojas) + 1)
            )
            n = len(hojas) + 1
            add(
                "xl/_rels/workbook.xml.rels",
                CABECERA_XML
                + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                f'relationships">{rels}<Relationship Id="rId{n}" Type="http://schemas.openxml'
                'formats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
                "</Relationships>",
            )
            sheets = "".join(
                f'<sheet name={quoteattr(t)} sheetId="{i}" r:id="rId{i}"/>'
                for i, (t, _, _) in enumerate(hojas, start=1)
            )
            filtros = "".join(
                f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                + escape(f"'{t}'!$A$1:${get_column_letter(max(len(f.columns), 1))}$")
                + f"{f.height + 1}</definedName>"
                for i, (t, f, _) in enumerate(hojas)
            )
            add(
                "xl/workbook.xml",
                CABECERA_XML + f"<workbook {NS} {NS_R}><sheets>{sheets}</sheets>"
                f"<definedNames>{filtros}</definedNames></workbook>",
            )
            add("xl/styles.xml", ESTILOS)
            for i, (_, frame, anchos) in enumerate(hojas, start=1):
                info = zipfile.ZipInfo(f"xl/worksheets/sheet{i}.xml", FECHA_ZIP)
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as fh:
                    _hoja(fh, frame, anchos)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
