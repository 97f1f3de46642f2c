"""Size checks that run before a workbook reaches calamine.

calamine allocates a sheet's whole rectangle (first to last used row, first to last used column)
at once, and a 2 KB file can name cells ``A1`` and ``XFD1048576``: 17 billion cells, an abort.
:func:`check_workbook` reads only what it needs to decide (the zip's directory, the workbook's
sheet list and each sheet's ``<dimension ref>``, streamed from the zip member) and answers with
the sheets calamine may parse and the sheets that must be read cell by cell instead
(:mod:`loaders.sparse`); a sheet too large either way is refused, naming file and sheet.

A sheet whose declared rectangle is over ``max_cells`` (or that declares none) is scanned as a
byte stream: its real cells are counted and its real rectangle measured. A sheet with few real
cells spread over a huge rectangle (a real workbook can declare a range far wider than its data)
is read by the bounded fallback; one with more real cells than the fallback takes is refused.
A sheet whose declaration is within the limit and whose XML is over
:data:`ALWAYS_SCAN_BYTES` is trusted without a scan, so an honest million-entry workbook is not
read twice; smaller sheets are always scanned, which catches a tiny file that lies about its
size. Standard library only: :mod:`loaders.early` runs this before importing anything else.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from buzon.errors import CorruptFileError, FileTooLargeError

MAX_CELLS = 20_000_000
MAX_UNZIPPED_BYTES = 2**30
# The cell-by-cell fallback keeps every cell as a Python object (~200 bytes each).
SPARSE_MAX_CELLS = 500_000
CHUNK = 1 << 20
# Sheets this small are scanned whatever they declare (a few milliseconds): a tiny file with a
# false, small dimension and a far cell is caught too. Larger sheets are trusted below the limit.
ALWAYS_SCAN_BYTES = 16 << 20
HEAD_BYTES = 1 << 16  # the dimension sits before sheetData, within the first few hundred bytes

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
ZIP_BOOKS = {".xlsx", ".xlsm"}

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?$")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"([^\"]*)\"")
_SHEET_DATA = re.compile(rb"<(?:\w+:)?sheetData\b")
_ROW_NUMBER = re.compile(rb"<row\b[^>]*?\br=\"(\d+)\"")
_CELL_COLUMN = re.compile(rb"<c\b[^>]*?\br=\"([A-Z]+)\d")


@dataclass(frozen=True)
class Limits:
    """``BUZON_MAX_CELLS`` and ``BUZON_MAX_UNZIPPED_BYTES``."""

    max_cells: int = MAX_CELLS
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES


@dataclass(frozen=True)
class BookCheck:
    """What may be parsed how: ``sparse`` maps a sheet name to its XML member in the zip."""

    sparse: dict[str, str] = field(default_factory=dict)

    @property
    def calamine_safe(self) -> bool:
        return not self.sparse


def column_number(letters: str) -> int:
    """1-based column of ``A``..``XFD``.

    >>> column_number('A'), column_number('Z'), column_number('AA'), column_number('XFD')
    (1, 26, 27, 16384)
    """
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def ref_cells(ref: str) -> int | None:
    """Cells in a ``<dimension ref>`` such as ``A1:F66670`` (None if it is not a reference).

    >>> ref_cells('A1:F10'), ref_cells('B2'), ref_cells('A1:XFD1048576'), ref_cells('junk')
    (60, 1, 17179869184, None)
    """
    match = _REF.match(ref.strip())
    if match is None:
        return None
    c1, r1, c2, r2 = match.groups()
    c2, r2 = c2 or c1, r2 or r1
    rows = abs(int(r2) - int(r1)) + 1
    cols = abs(column_number(c2) - column_number(c1)) + 1
    return rows * cols


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def _not_a_book(path: Path) -> CorruptFileError:
    return CorruptFileError(
        f"no es una hoja de cálculo: el archivo {path.suffix} no contiene un libro de Excel "
        "(¿es otro documento con la extensión cambiada?)",
        archivo=path.name,
    )


def _check_unzipped(path: Path, book: zipfile.ZipFile, limits: Limits) -> None:
    total = sum(info.file_size for info in book.infolist())
    if total > limits.max_unzipped_bytes:
        raise FileTooLargeError(
            f"el libro descomprimido ocupa {_mib(total)}; el máximo es "
            f"{_mib(limits.max_unzipped_bytes)} (BUZON_MAX_UNZIPPED_BYTES); divídelo en varios",
            archivo=path.name,
        )


def _small_xml(book: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    try:
        with book.open(name) as fh:
            return ElementTree.parse(fh).getroot()
    except KeyError:
        return None
    except (ElementTree.ParseError, zipfile.BadZipFile, OSError, EOFError):
        return None


def workbook_rels(book: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """The workbook's relationships: id -> (type, zip member), targets made absolute."""
    rels = _small_xml(book, "xl/_rels/workbook.xml.rels")
    found: dict[str, tuple[str, str]] = {}
    if rels is not None:
        for rel in rels.iter(f"{{{PKG_REL_NS}}}Relationship"):
            target = rel.get("Target") or ""
            name = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            found[rel.get("Id") or ""] = (rel.get("Type") or "", str(PurePosixPath(name)))
    return found


def _sheet_members(path: Path, book: zipfile.ZipFile) -> list[tuple[str, str | None]]:
    """(sheet name, its XML member or None) in the workbook's order."""
    workbook = _small_xml(book, "xl/workbook.xml")
    if workbook is None or workbook.tag != f"{{{MAIN_NS}}}workbook":
        raise _not_a_book(path)
    targets = {rel_id: member for rel_id, (_, member) in workbook_rels(book).items()}
    found: list[tuple[str, str | None]] = []
    for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet"):
        member = targets.get(sheet.get(f"{{{REL_NS}}}id") or "")
        found.append((sheet.get("name") or "", member))
    return found


def _chunks(book: zipfile.ZipFile, member: str, limit: int | None = None) -> Iterator[bytes]:
    with book.open(member) as fh:
        read = 0
        while limit is None or read < limit:
            chunk = fh.read(CHUNK)
            if not chunk:
                return
            read += len(chunk)
            yield chunk


def declared_cells(book: zipfile.ZipFile, member: str) -> int | None:
    """The cells of the sheet's ``<dimension ref>``, reading only the start of the member
    (the element comes before ``<sheetData>``; nothing after that is looked at)."""
    head = b""
    with book.open(member) as fh:
        while len(head) < HEAD_BYTES:
            piece = fh.read(4096)
            if not piece:
                break
            head += piece
            data_at = _SHEET_DATA.search(head)
            found = _DIMENSION.search(head, 0, data_at.start() if data_at else len(head))
            if found is not None:
                return ref_cells(found.group(1).decode("ascii", "replace"))
            if data_at is not None:
                return None
    return None


@dataclass
class Extent:
    """What a byte scan of a sheet found: its real cells and its real rectangle (from A1)."""

    cells: int = 0
    rows: int = 0
    columns: int = 0
    row_elements: int = 0
    cell_refs: int = 0
    row_cells: int = 0  # the most cells one row holds

    @property
    def area(self) -> int:
        # A row or cell without ``r`` follows the previous one: bound by the element counts.
        rows = max(self.rows, self.row_elements)
        columns = self.columns
        if self.cell_refs < self.cells:
            columns = min(self.columns + self.row_cells, 16384)
        return rows * columns


def _count_cells(data: bytes) -> int:
    return sum(data.count(b"<c" + end) for end in (b" ", b">", b"/"))


def scan(book: zipfile.ZipFile, member: str, limits: Limits) -> Extent:
    """Count the cells of a sheet and measure its rectangle, streaming the member in 1 MiB
    pieces (memory stays bounded whatever the file claims). Stops as soon as the answer is
    known to be a refusal: more cells than the fallback takes over a rectangle already too large,
    or more cells than the limit."""
    extent = Extent()
    sparse_max = min(limits.max_cells, SPARSE_MAX_CELLS)
    carry = b""
    open_row = 0  # cells of the row the previous piece ended in
    for chunk in _chunks(book, member):
        data = carry + chunk
        cut = data.rfind(b">") + 1  # never split a tag between two pieces
        data, carry = data[:cut], data[cut:]
        # bytes.count is far faster than a regex; tags are counted by their three spellings.
        counts = [_count_cells(part) for part in data.split(b"<row")]
        extent.cells += sum(counts)
        counts[0] += open_row  # the first part continues the row the previous piece ended in
        open_row = counts[-1]
        extent.row_cells = max(extent.row_cells, max(counts))
        extent.row_elements += sum(data.count(b"<row" + end) for end in (b" ", b">", b"/"))
        rows = _ROW_NUMBER.findall(data)
        if rows:
            extent.rows = max(extent.rows, *(int(r) for r in rows))
        refs = _CELL_COLUMN.findall(data)
        extent.cell_refs += len(refs)
        extent.cells = max(extent.cells, extent.cell_refs)  # a tag split by a newline
        columns = set(refs)
        if columns:
            extent.columns = max(extent.columns, *(column_number(c.decode()) for c in columns))
        if extent.cells > limits.max_cells or (
            extent.cells > sparse_max and extent.area > limits.max_cells
        ):
            break
    return extent


def _check_sheet(path: Path, book: zipfile.ZipFile, name: str, member: str, limits: Limits) -> bool:
    """True if calamine may parse the sheet, False if it must be read cell by cell; raises if
    the sheet is too large either way."""
    declared = declared_cells(book, member)
    small = book.getinfo(member).file_size <= ALWAYS_SCAN_BYTES
    if declared is not None and declared <= limits.max_cells and not small:
        return True
    extent = scan(book, member, limits)
    if extent.area <= limits.max_cells:
        return True
    if extent.cells <= min(limits.max_cells, SPARSE_MAX_CELLS):
        return False
    size = f"declara {declared:,} celdas" if declared is not None else "no declara su tamaño"
    raise FileTooLargeError(
        f"la hoja {size} y abarca más de {limits.max_cells:,} celdas, el máximo "
        "(BUZON_MAX_CELLS); divídela en varias",
        archivo=path.name,
        hoja=name,
    )


_ODS_TAG = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)\b([^>]*?)(/?)>")
_ROWS_REPEATED = re.compile(rb'number-rows-repeated="(\d+)"')
_COLUMNS_REPEATED = re.compile(rb'number-columns-repeated="(\d+)"')
_TABLE_NAME = re.compile(rb'table:name="([^"]*)"')


def _repeat(pattern: re.Pattern[bytes], attributes: bytes) -> int:
    found = pattern.search(attributes)
    return int(found.group(1)) if found else 1


def check_ods(path: Path, book: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a table whose rectangle, once ``number-rows-repeated`` and
    ``number-columns-repeated`` are expanded as calamine expands them, is over the limit: an
    800-byte file can ask for a million rows of a hundred cells. Repeated empty cells and rows
    (LibreOffice pads every table so) count only when a value follows them."""
    name = ""
    row = 0  # rows so far, repeats included
    last_row = width = 0  # the rectangle: last row with a value, widest row up to its last value
    row_repeat = column = row_width = 0
    carry = b""
    for chunk in _chunks(book, "content.xml"):
        data = carry + chunk
        cut = data.rfind(b">") + 1
        data, carry = data[:cut], data[cut:]
        for match in _ODS_TAG.finditer(data):
            closing, tag, attributes, empty = match.groups()
            if tag == b"table":
                if not closing:
                    found = _TABLE_NAME.search(attributes)
                    name = found.group(1).decode("utf-8", "replace") if found else ""
                    row = last_row = width = 0
                continue
            if tag == b"table-row":
                if closing or empty:
                    if row_width:
                        last_row = row + row_repeat
                        width = max(width, row_width)
                    row += row_repeat
                else:
                    row_repeat, column, row_width = _repeat(_ROWS_REPEATED, attributes), 0, 0
                if last_row * width > limits.max_cells:
                    raise FileTooLargeError(
                        f"la hoja abarca más de {limits.max_cells:,} celdas una vez expandidas "
                        "sus filas y columnas repetidas, el máximo (BUZON_MAX_CELLS); "
                        "divídela en varias",
                        archivo=path.name,
                        hoja=name,
                    )
            elif not closing:  # a cell: it holds something unless written empty and valueless
                column += _repeat(_COLUMNS_REPEATED, attributes)
                if not empty or b"value-type" in attributes:
                    row_width = column


def check_workbook(path: Path, limits: Limits | None = None) -> BookCheck:
    """Check ``path`` (already known to be a zip or OLE2 file) before any parse.

    Raises :class:`~buzon.errors.FileTooLargeError` for a workbook over the limits and
    :class:`~buzon.errors.CorruptFileError` for a zip that holds no workbook. Only .xlsx/.xlsm
    sheets can be checked cell-wise; an .ods gets the unzipped-size check; an .xls is bounded by
    its format (65,536 x 256 cells) and the file size limit.
    """
    limits = limits or Limits()
    ext = path.suffix.lower()
    if ext not in ZIP_BOOKS | {".ods"}:
        return BookCheck()
    try:
        with zipfile.ZipFile(path) as book:
            _check_unzipped(path, book, limits)
            if ext == ".ods":
                if "content.xml" not in book.namelist():
                    raise _not_a_book(path)
                check_ods(path, book, limits)
                return BookCheck()
            sparse: dict[str, str] = {}
            for name, member in _sheet_members(path, book):
                if member is None or member not in book.NameToInfo:
                    continue  # calamine reports a missing sheet in its own words
                if not _check_sheet(path, book, name, member, limits):
                    sparse[name] = member
            return BookCheck(sparse=sparse)
    except zipfile.BadZipFile:
        return BookCheck()  # calamine's message names the damage
