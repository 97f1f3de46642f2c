"""The bounded fallback for a sheet whose rectangle is too large for calamine but whose real
cells are few (:mod:`loaders.guard` decides which): the sheet's XML is streamed from the zip and
only the rows that hold a value become rows of the frame (``fila`` keeps their Excel number).

Memory is bounded by the cells kept: more than :data:`loaders.guard.SPARSE_MAX_CELLS` values, or
a frame wider than :data:`MAX_SLOTS` row x column slots, refuse the sheet by name.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

import polars as pl

from buzon.errors import CorruptFileError, FileTooLargeError
from loaders.guard import CHUNK, SPARSE_MAX_CELLS, column_number, workbook_rels
from loaders.types import RawSheet

MAX_SLOTS = 4 * SPARSE_MAX_CELLS
SHARED_STRINGS_TYPE = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: ElementTree.Element) -> str:
    """The text of an inline or shared string (``<t>`` pieces, rich-text runs included)."""
    return "".join(t.text or "" for t in element.iter() if _local(t.tag) == "t")


def _events(book: zipfile.ZipFile, member: str):  # noqa: ANN202 - a generator of parser events
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    with book.open(member) as fh:
        while chunk := fh.read(CHUNK):
            parser.feed(chunk)
            yield from parser.read_events()
    parser.close()
    yield from parser.read_events()


def _number(raw: str) -> str:
    """A numeric cell as calamine shows it as text: integral values without ``.0``."""
    try:
        value = float(raw)
    except ValueError:
        return raw
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else raw


def _shared_strings_member(book: zipfile.ZipFile) -> str | None:
    for kind, member in workbook_rels(book).values():
        if kind == SHARED_STRINGS_TYPE:
            return member
    return "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in book.NameToInfo else None


def _shared_strings(book: zipfile.ZipFile, wanted: set[int]) -> dict[int, str]:
    """Only the shared strings the sheet uses (the table may be far larger)."""
    member = _shared_strings_member(book)
    found: dict[int, str] = {}
    if member is None or not wanted:
        return found
    index = 0
    root: ElementTree.Element | None = None
    for event, element in _events(book, member):
        if event == "start":
            root = element if root is None else root
            continue
        if _local(element.tag) == "si":
            if index in wanted:
                found[index] = _text(element)
            index += 1
            if root is not None:
                root.remove(element)
    return found


def _too_large(path: Path, hoja: str, what: str) -> FileTooLargeError:
    return FileTooLargeError(
        f"la hoja {what}; divídela en varias (BUZON_MAX_CELLS)", archivo=path.name, hoja=hoja
    )


def read_sparse(path: Path, hoja: str, member: str, *, max_cells: int) -> RawSheet:
    """Read one sheet cell by cell, keeping only the rows that hold a value."""
    keep = min(max_cells, SPARSE_MAX_CELLS)
    cells: list[tuple[int, int, str, str]] = []  # (row, column, type, raw)
    row = column = 0
    parent: ElementTree.Element | None = None
    try:
        with zipfile.ZipFile(path) as book:
            for event, element in _events(book, member):
                tag = _local(element.tag)
                if event == "start":
                    if tag == "sheetData":
                        parent = element
                    elif tag == "row":
                        ref = element.get("r")
                        row = int(ref) if ref and ref.isdigit() else row + 1
                        column = 0
                    elif tag == "c":
                        ref = element.get("r") or ""
                        letters = "".join(ch for ch in ref if ch.isalpha())
                        column = column_number(letters) if letters else column + 1
                    continue
                if tag == "c":
                    kind = element.get("t") or "n"
                    if kind == "inlineStr":
                        raw = _text(element)
                    else:
                        value = next((e for e in element if _local(e.tag) == "v"), None)
                        raw = value.text if value is not None and value.text else ""
                    if raw != "":
                        cells.append((row, column, kind, raw))
                        if len(cells) > keep:
                            raise _too_large(path, hoja, f"tiene más de {keep:,} celdas con valor")
                elif tag == "row" and parent is not None:
                    parent.remove(element)  # what was read is dropped: memory stays bounded
            wanted = {int(raw) for _, _, kind, raw in cells if kind == "s" and raw.isdigit()}
            strings = _shared_strings(book, wanted)
    except (ElementTree.ParseError, zipfile.BadZipFile, EOFError) as exc:
        raise CorruptFileError(
            f"no se pudo leer la hoja: {exc}", archivo=path.name, hoja=hoja
        ) from None
    rows = sorted({r for r, _, _, _ in cells})
    width = max((c for _, c, _, _ in cells), default=1)
    if len(rows) * width > MAX_SLOTS:
        raise _too_large(path, hoja, f"ocupa {len(rows):,} filas por {width:,} columnas")
    position = {r: i for i, r in enumerate(rows)}
    columns: list[list[str | None]] = [[None] * len(rows) for _ in range(width)]
    for r, c, kind, raw in cells:
        if kind == "s":
            text = strings.get(int(raw), "") if raw.isdigit() else raw
        elif kind == "b":
            text = "true" if raw == "1" else "false"
        elif kind == "n":
            text = _number(raw)
        else:
            text = raw
        columns[c - 1][position[r]] = text
    frame = pl.DataFrame(
        {f"c{i}": pl.Series(values, dtype=pl.String) for i, values in enumerate(columns)}
    ).with_columns(pl.Series("fila", rows, dtype=pl.Int64))
    return RawSheet(archivo=path.name, hoja=hoja, frame=frame.select("fila", pl.exclude("fila")))
