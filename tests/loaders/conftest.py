"""Workbooks written byte by byte, so a test can make files no spreadsheet program would."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _book(sheet_name: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def write_xlsx(
    path: Path, rows: Iterable[str], *, dimension: str | None, sheet_name: str = "Hoja1"
) -> Path:
    """An .xlsx whose one sheet holds ``rows`` (``<row>`` XML, streamed into the zip)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", _book(sheet_name))
        book.writestr("xl/_rels/workbook.xml.rels", BOOK_RELS)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(SHEET_HEAD.encode())
            if dimension is not None:
                fh.write(f'<dimension ref="{dimension}"/>'.encode())
            fh.write(b"<sheetData>")
            batch: list[str] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= 100:
                    fh.write("".join(batch).encode())
                    batch.clear()
            fh.write("".join(batch).encode())
            fh.write(b"</sheetData></worksheet>")
    return path


HEADER = '<row r="1">' + cell("A1", "RFC") + cell("B1", "Correo") + "</row>"
ENTRY = '<row r="2">' + cell("A2", "EKU9003173C9") + cell("B2", "rh@empresa.mx") + "</row>"


@pytest.fixture
def make_xlsx(tmp_path: Path) -> Callable[..., Path]:
    """``make_xlsx(name, rows, dimension=...)`` writes a hand-made workbook under tmp_path."""

    def make(name: str, rows: Iterable[str], *, dimension: str | None, **kw: str) -> Path:
        return write_xlsx(tmp_path / name, rows, dimension=dimension, **kw)

    return make


@pytest.fixture
def far_corner(make_xlsx: Callable[..., Path]) -> Path:
    """A header, one entry and a cell at XFD1048576: 17 billion cells for calamine."""
    far = '<row r="1048576">' + cell("XFD1048576", "x") + "</row>"
    return make_xlsx("esquina.xlsx", [HEADER, ENTRY, far], dimension="A1:XFD1048576")


@pytest.fixture
def tall_column(make_xlsx: Callable[..., Path]) -> Path:
    """A header, one entry and a cell at CV400000: 40 million cells for calamine."""
    far = '<row r="400000">' + cell("CV400000", "x") + "</row>"
    return make_xlsx("columna.xlsx", [HEADER, ENTRY, far], dimension="A1:CV400000")


def dense_rows(rows: int, columns: int) -> Iterable[str]:
    """Rows and cells without ``r`` (each follows the previous one): identical, so they
    compress about a thousand to one."""
    row = "<row>" + "<c><v>1</v></c>" * columns + "</row>"
    for _ in range(rows // 1024):
        yield row * 1024


@pytest.fixture
def dense_sheet(make_xlsx: Callable[..., Path]) -> Path:
    """1,048,576 rows of 20 numbers: well under 1 MB on disk, 21 million real cells."""
    return make_xlsx("densa.xlsx", dense_rows(1_048_576, 20), dimension="A1:T1048576")


ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)
ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


@pytest.fixture
def repeated_ods(tmp_path: Path) -> Path:
    """An .ods of under 1 KB whose one row with a value repeats 1,000,000 times, 100 cells wide."""
    cell = '<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>'
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS}>'
        '<office:body><office:spreadsheet><table:table table:name="Hoja1">'
        f"<table:table-row>{cell.format('RFC')}</table:table-row>"
        '<table:table-row table:number-rows-repeated="1000000">'
        + cell.format("x").replace(
            "<table:table-cell", '<table:table-cell table:number-columns-repeated="100"'
        )
        + "</table:table-row>"
        # LibreOffice's own padding: empty rows and cells repeated to the sheet's edge.
        + '<table:table-row table:number-rows-repeated="48575">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    path = tmp_path / "repetida.ods"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        book.writestr("content.xml", content)
        book.writestr("META-INF/manifest.xml", ODS_MANIFEST)
    return path
