"""Event files (JSON Lines or CSV) -> one validated polars frame, and the event content hash.

Instants (``fecha``) may carry any ISO 8601 offset; they are compared in UTC (naive = UTC).

A file is read and validated as a whole before anything is imported: one malformed line rejects the
file with :class:`EventFileError` naming the line numbers, and nothing from it is recorded.

Columns: ``tipo, referencia, token, rfc, telefono, codigo, estado, motivo, fecha``. ``tipo`` is
``confirmacion_correo`` (needs ``token``), ``codigo_sms`` (``rfc``, ``telefono``, ``codigo``) or
``entrega`` (``referencia`` = outbox id, ``estado`` delivered/failed/bounced, optional ``motivo``).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import polars as pl

from buzon.errors import EventFileError, FileMissingError
from delivery.secrets import content_mac
from registry.clock import utc

CAMPOS = ("tipo", "referencia", "token", "rfc", "telefono", "codigo", "estado", "motivo", "fecha")
TIPOS = ("confirmacion_correo", "codigo_sms", "entrega")
# Gateways speak English or Spanish; the store keeps the English word of the webhook contract.
ESTADOS_ENTREGA = {
    "delivered": "delivered",
    "entregado": "delivered",
    "failed": "failed",
    "fallido": "failed",
    "bounced": "bounced",
    "rebotado": "bounced",
}
_MAX_ERRORES = 5
_HASH_SLICE = 100_000
_SCHEMA = {c: pl.String for c in CAMPOS}


def _raise_lines(path: Path, errores: list[tuple[int, str]]) -> None:
    shown = "; ".join(f"línea {n}: {msg}" for n, msg in errores[:_MAX_ERRORES])
    more = f" (y {len(errores) - _MAX_ERRORES} más)" if len(errores) > _MAX_ERRORES else ""
    raise EventFileError(
        f"archivo de eventos con líneas inválidas: {shown}{more}; no se importó nada",
        file=str(path),
        line=errores[0][0],
    )


def _json_slow(path: Path, data: bytes) -> pl.DataFrame:
    """Line-by-line JSON parsing: finds the bad line numbers the fast reader cannot give."""
    rows: list[dict] = []
    errores: list[tuple[int, str]] = []
    for n, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                raise ValueError
        except ValueError:
            errores.append((n, "no es un objeto JSON"))
            continue
        extra = set(obj) - set(CAMPOS)
        if extra:
            errores.append(
                (n, f"campo desconocido {sorted(extra)[0]} (campos: {', '.join(CAMPOS)})")
            )
            continue
        row = {c: (None if obj.get(c) is None else str(obj[c])) for c in CAMPOS}
        row["linea"] = n
        rows.append(row)
    if errores:
        _raise_lines(path, errores)
    return pl.DataFrame(rows, schema={**_SCHEMA, "linea": pl.Int64})


def _read_jsonl(path: Path, data: bytes) -> pl.DataFrame:
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        df = pl.read_ndjson(io.BytesIO(data), schema=_SCHEMA)
    except Exception:
        return _json_slow(path, data)
    if df.height != lines or b"\n\n" in data:
        # Blank lines shift numbering; the slow path numbers lines exactly.
        return _json_slow(path, data)
    return df.with_columns(linea=pl.int_range(1, df.height + 1, dtype=pl.Int64))


def _read_csv(path: Path, data: bytes) -> pl.DataFrame:
    text = data.decode("utf-8-sig", errors="strict")
    header = next(csv.reader([text.split("\n", 1)[0]]), [])
    header = [h.strip().lower() for h in header]
    unknown = [h for h in header if h not in CAMPOS]
    if "tipo" not in header or "fecha" not in header or unknown:
        what = (
            f"columna desconocida {unknown[0]}" if unknown else "faltan las columnas tipo y fecha"
        ) + f" (columnas permitidas: {', '.join(CAMPOS)})"
        _raise_lines(path, [(1, f"encabezado inválido: {what}")])
    try:
        df = pl.read_csv(io.BytesIO(data), infer_schema=False, new_columns=header)
        if df.height != text.rstrip("\n").count("\n"):
            raise ValueError("line count")  # quoted newlines: number lines exactly below
        df = df.with_columns(linea=pl.int_range(2, df.height + 2, dtype=pl.Int64))
    except Exception:
        rows: list[dict] = []
        errores: list[tuple[int, str]] = []
        reader = csv.reader(io.StringIO(text))
        next(reader, None)
        for fields in reader:
            n = reader.line_num
            if not fields:
                continue
            if len(fields) != len(header):
                errores.append((n, f"{len(fields)} columnas, se esperaban {len(header)}"))
                continue
            rows.append({**dict(zip(header, fields, strict=True)), "linea": n})
        if errores:
            _raise_lines(path, errores)
        df = pl.DataFrame(rows, schema={**{h: pl.String for h in header}, "linea": pl.Int64})
    for c in CAMPOS:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, pl.String).alias(c))
    return df.select(*CAMPOS, "linea")


def parse_fecha(col: pl.Expr) -> pl.Expr:
    """ISO 8601 strings -> UTC datetimes; naive instants are taken as UTC; null when unparseable.

    The usual extended forms; :func:`_fechas` passes what this leaves null to :func:`_iso`."""
    t = col.str.strip_chars().str.replace(r"[Zz]$", "+00:00").str.replace(" ", "T")
    return pl.coalesce(
        t.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_zone="UTC"),
        t.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_zone="UTC"),
    ).dt.cast_time_unit("us")


def _fechas(df: pl.DataFrame) -> pl.Series:
    """``parse_fecha`` of the ``fecha`` column, with a fast path for the usual gateway form
    (``...T12:00:00.000000Z``): the general parse runs only on the lines that need it."""
    t = df["fecha"].str.strip_chars()
    out = t.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.fZ", strict=False, time_zone="UTC"
    ).dt.cast_time_unit("us")
    resto = (out.is_null() & t.is_not_null()).arg_true()
    if resto.len():
        general = pl.select(parse_fecha(pl.lit(t.gather(resto)))).to_series()
        out = out.scatter(resto, general)
        # Any other ISO 8601 spelling (basic format, hour-only offsets, no seconds): the same
        # instant whatever its offset. Only the few lines polars could not read get here.
        otros = (out.is_null() & t.is_not_null()).arg_true()
        if otros.len():
            valores = [_iso(v) for v in t.gather(otros).to_list()]
            out = out.scatter(otros, pl.Series(valores, dtype=pl.Datetime("us", "UTC")))
    return out.alias("fecha_dt")


def _iso(text: str) -> datetime | None:
    """One ISO 8601 instant in UTC, or ``None``.

    >>> _iso("20260615T120000-0600") == _iso("2026-06-15T12:00-06") == _iso("2026-06-15T18:00Z")
    True
    >>> _iso("mañana") is None
    True
    """
    try:
        return utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        return None


def validar(df: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Normalize every column and reject the file if any line breaks the rules."""
    s = {c: pl.col(c).str.strip_chars() for c in CAMPOS}
    df = df.with_columns(
        **{c: pl.when(e == "").then(None).otherwise(e) for c, e in s.items()},
    ).with_columns(
        tipo=pl.col("tipo").str.to_lowercase(),
        rfc=pl.col("rfc").str.to_uppercase().str.replace_all(r"[\s\-_]", ""),
        telefono=pl.col("telefono").str.replace_all(r"[\s\-\.\(\)]", ""),
        estado=pl.col("estado")
        .str.to_lowercase()
        .replace_strict(ESTADOS_ENTREGA, default=pl.lit("?")),
        fecha_dt=_fechas(df),
        referencia_n=pl.col("referencia").cast(pl.Int64, strict=False),
    )
    tipo = pl.col("tipo")
    error = (
        pl.when(~tipo.is_in(TIPOS))
        .then(pl.lit(f"tipo desconocido (use {', '.join(TIPOS)})"))
        .when(pl.col("fecha_dt").is_null())
        .then(pl.lit("fecha inválida (ISO 8601)"))
        .when(
            (tipo == "confirmacion_correo")
            & ~pl.col("token").str.contains(r"^[A-Za-z0-9_\-]{16,200}$").fill_null(False)
        )
        .then(pl.lit("token inválido"))
        .when(
            (tipo == "codigo_sms")
            & ~pl.col("rfc").str.contains(r"^[A-ZÑ&]{3,4}[0-9]{6}[A-Z0-9]{3}$").fill_null(False)
        )
        .then(pl.lit("RFC inválido"))
        .when(
            (tipo == "codigo_sms")
            & ~pl.col("telefono").str.contains(r"^[0-9]{10}$").fill_null(False)
        )
        .then(pl.lit("teléfono inválido (10 dígitos)"))
        .when(
            (tipo == "codigo_sms") & ~pl.col("codigo").str.contains(r"^[0-9]{5}$").fill_null(False)
        )
        .then(pl.lit("código inválido (5 dígitos)"))
        .when(
            (tipo == "entrega") & (pl.col("referencia_n").is_null() | (pl.col("referencia_n") <= 0))
        )
        .then(pl.lit("referencia inválida"))
        .when((tipo == "entrega") & (pl.col("estado").is_null() | (pl.col("estado") == "?")))
        .then(pl.lit("estado inválido (delivered, failed, bounced)"))
    )
    checked = df.with_columns(error=error)
    bad = checked.filter(pl.col("error").is_not_null())
    if bad.height:
        _raise_lines(path, list(zip(bad["linea"].to_list(), bad["error"].to_list(), strict=True)))
    return checked.select(
        "tipo",
        pl.col("referencia_n").alias("referencia"),
        "token",
        "rfc",
        "telefono",
        "codigo",
        "estado",
        "motivo",
        pl.col("fecha_dt").alias("fecha"),
        pl.format("archivo:{}:{}", pl.lit(path.name), pl.col("linea")).alias("origen"),
    )


def leer_bytes(path: Path | str) -> bytes:
    """The bytes of one event file, or the Spanish error of a missing file or a folder."""
    path = Path(path)
    if path.is_dir():
        raise FileMissingError("es una carpeta, no un archivo de eventos", archivo=str(path))
    if not path.is_file():
        raise FileMissingError("no existe el archivo de eventos", archivo=str(path))
    return path.read_bytes()


def validar_bytes(path: Path | str, data: bytes) -> pl.DataFrame:
    """Parse and validate the bytes of one event file (its suffix says CSV or JSON Lines)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        try:
            df = _read_csv(path, data)
        except UnicodeDecodeError:
            raise EventFileError("el archivo no está en UTF-8", file=str(path)) from None
    else:
        df = _read_jsonl(path, data)
    return validar(df, path)


def leer_archivo(path: Path | str) -> pl.DataFrame:
    """Read and validate one event file (``.jsonl``/``.ndjson``/``.json`` or ``.csv``)."""
    return validar_bytes(path, leer_bytes(path))


def huella_archivo(key: bytes, data: bytes) -> str:
    """Keyed digest of a whole event file's bytes (``delivery.secrets.content_mac`` under its own
    prefix): files carry raw codes and tokens, so not a bare hash. Same bytes, same digest,
    whatever the file's name; one changed byte, another digest.

    >>> huella_archivo(b"k" * 32, b"a,b") == huella_archivo(b"k" * 32, b"a,b")
    True
    >>> huella_archivo(b"k" * 32, b"a,b") != huella_archivo(b"k" * 32, b"a,c")
    True
    """
    mac = content_mac(key).copy()
    mac.update(b"archivo de eventos\x00")
    mac.update(data)
    return mac.hexdigest()


def contenido_hash(key: bytes, df: pl.DataFrame) -> pl.Series:
    """Idempotency key of each event: a keyed hash (``delivery.secrets.content_mac``) of its
    content (codes/tokens never hashed bare).

    Two lines that say the same thing (same kind, fields and instant) are one event.
    """
    # concat_str yields null if any part is null, so nulls become a sentinel first.
    canon = pl.concat_str(
        [
            pl.col(c).cast(pl.String).fill_null("\x00")
            if c != "fecha"
            else pl.col("fecha").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            for c in CAMPOS
        ],
        separator="\x1f",
    )
    mac = content_mac(key)

    def digests(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            h = mac.copy()
            h.update(line.encode())
            out.append(h.hexdigest())
        return out

    # In slices: a million lines as Python strings at once would cost hundreds of MB.
    parts = [
        pl.Series(digests(df.slice(i, _HASH_SLICE).select(canon).to_series().to_list()))
        for i in range(0, df.height, _HASH_SLICE)
    ]
    return (
        pl.concat(parts).cast(pl.String).rename("hash")
        if parts
        else pl.Series("hash", [], pl.String)
    )
