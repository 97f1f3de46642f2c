"""CSV/TXT uploads: encoding (UTF-8, UTF-8 with BOM, Windows-1252) and delimiter are detected."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from buzon.errors import CorruptFileError, EmptyFileError, EncodingError
from loaders.types import RawSheet

DELIMITERS = ",;\t"
# The csv module refuses a field over 128 KiB by default; a long cell is bad data for the
# validator to reject with its code, not a reason to refuse the file. The file size limit
# (BUZON_MAX_FILE_BYTES) bounds it already.
FIELD_LIMIT = 2**31 - 1
HEADER_LINES = 50  # the header is within the first 10 rows; titles may be ragged


def decode(raw: bytes, *, archivo: str) -> str:
    """UTF-8 (with or without BOM) if it decodes, else Windows-1252; binary data is refused."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw[:4096]:
        raise CorruptFileError(
            "el archivo parece binario, no un texto CSV (¿es un Excel con extensión .csv?)",
            archivo=archivo,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise EncodingError(
            "no se reconoce la codificación del texto; guárdalo como CSV UTF-8", archivo=archivo
        ) from exc


def sniff_delimiter(text: str) -> str:
    """The delimiter among ``,`` ``;`` and tab that splits the first lines most consistently."""
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in DELIMITERS}
        return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_text(path: Path) -> RawSheet:
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    text = decode(path.read_bytes(), archivo=path.name)
    if not text.strip():
        raise EmptyFileError("el archivo está vacío", archivo=path.name)
    delimiter = sniff_delimiter(text)
    # polars takes the column count from the first line, and a title row above the header has one
    # field: size the frame by the widest of the first lines instead (the header is among them).
    width = max(
        (len(row) for row in csv.reader(text.splitlines()[:HEADER_LINES], delimiter=delimiter)),
        default=1,
    )
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            separator=delimiter,
            schema={f"c{i}": pl.String for i in range(max(width, 1))},
            missing_columns="insert",
            truncate_ragged_lines=True,
        )
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:160]
        raise CorruptFileError(f"no se pudo leer el CSV: {first}", archivo=path.name) from None
    frame = frame.with_row_index("fila", offset=1).with_columns(pl.col("fila").cast(pl.Int64))
    return RawSheet(archivo=path.name, hoja=None, frame=frame)
