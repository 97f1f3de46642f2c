"""Uploads never lose a column: hand mappings, ignored columns, and the ones that stop an upload.

- ``--columna "ENCABEZADO=campo"`` maps a header by hand (:func:`parse_columnas`).
- Every column nothing reads is reported (:func:`ignored_columns`): a warning
  ``COLUMNA_IGNORADA`` in ``advertencias.csv`` and ``columns_ignored`` in the summary.
- An ignored column whose values mostly look like Registros Patronales, emails or mobiles stops
  the upload (:func:`check_ignored`): registering those media at the RFC scope, or not at all,
  would be wrong, and the person fixes it with one ``--columna``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from buzon.errors import ColumnMappingError, UnmappedColumnError
from loaders import RawSheet
from schemas.entries import Layout
from schemas.headers import CAMPOS, normalize

CODIGO = "COLUMNA_IGNORADA"
MENSAJE = (
    "Columna no reconocida: sus datos no se usaron. Si trae algo que registrar, indícalo con "
    '--columna "ENCABEZADO=campo".'
)
SAMPLE = 500  # non-empty values looked at per ignored column
MOSTLY = 0.5

_KINDS = {
    # What a value looks like -> (campo to map it to, Spanish name for the message).
    "rp": ("registro_patronal", "registros patronales"),
    "correo": ("correo", "correos electrónicos"),
    "telefono": ("celular", "celulares"),
}
_RP = r"^[A-Z0-9][0-9]{10}$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_MOBILE = r"^(52|521|044|045|01)?[2-9][0-9]{9}$"


def parse_columnas(specs: Sequence[str]) -> dict[str, str]:
    """``["Registros patronales=registro_patronal"]`` -> ``{"registrospatronales": "rp"}``.

    >>> parse_columnas(["Reg. IMSS=registro_patronal", "Notas = ignorar"])
    {'regimss': 'rp', 'notas': 'ignorar'}
    """
    out: dict[str, str] = {}
    for spec in specs:
        header, sep, campo = spec.rpartition("=")
        key, campo = normalize(header), campo.strip().lower()
        if not sep or not key or campo not in CAMPOS:
            raise ColumnMappingError(
                f'--columna "{spec}" no se puede usar: escribe "ENCABEZADO=campo" con campo uno de '
                + ", ".join(CAMPOS)
            )
        out[key] = CAMPOS[campo]
    return out


def check_mapped(columnas: Mapping[str, str] | None, headers: Sequence[set[str]]) -> None:
    """A hand mapping whose header appears in no file is a typo: say so instead of ignoring it."""
    seen = set().union(*headers) if headers else set()
    for key in columnas or {}:
        if key not in seen:
            raise ColumnMappingError(
                f"--columna: ningún archivo tiene un encabezado «{key}» (se comparan sin "
                "mayúsculas, acentos, espacios ni signos); revisa cómo está escrito"
            )


def _looks_like(values: pl.Series) -> str | None:
    """Which kind most values look like (``rp``, ``correo``, ``telefono``), or None."""
    if values.is_empty():
        return None
    compact = values.str.to_uppercase().str.replace_all(r"[\s\-.()+]", "")
    checks = {
        "rp": compact.str.contains(_RP),
        "correo": values.str.contains(_EMAIL),
        "telefono": compact.str.replace(r"\.0$", "").str.contains(_MOBILE),
    }
    for kind, hits in checks.items():
        if hits.sum() / len(values) >= MOSTLY:
            return kind
    return None


def ignored_columns(sheet: RawSheet, layout: Layout) -> list[dict]:
    """The ignored columns of one sheet: ``{archivo, hoja, columna, fila, parece}``.

    ``fila`` is the header's row as Excel shows it; ``parece`` what most values look like (or
    None). A column with neither header nor values is not a column anyone wrote: skipped.
    """
    if not layout.ignored:
        return []
    body = sheet.frame.slice(layout.header_index + 1)
    fila = sheet.frame.get_column("fila")[layout.header_index]
    out = []
    for column, header in layout.ignored:
        cells = body.get_column(column).str.strip_chars()
        values = cells.filter(cells.is_not_null() & (cells != "")).head(SAMPLE)
        if not header and values.is_empty():
            continue
        out.append(
            {
                "archivo": sheet.archivo,
                "hoja": sheet.hoja,
                "columna": header or "(columna sin encabezado)",
                "fila": fila,
                "parece": _looks_like(values),
                "sin_encabezado": not header,
            }
        )
    return out


def check_ignored(items: Sequence[dict]) -> None:
    """Stop at the first ignored column that looks like media or RPs (nothing is written)."""
    for item in items:
        if item["parece"] is None:
            continue
        campo, nombre = _KINDS[item["parece"]]
        header = item["columna"]
        if item.get("sin_encabezado"):
            raise UnmappedColumnError(
                f"una columna sin encabezado parece contener {nombre}; no se registró nada. "
                f"Escríbele el encabezado (por ejemplo «{campo}») o bórrala",
                archivo=item["archivo"],
                hoja=item["hoja"],
            )
        raise UnmappedColumnError(
            f"la columna «{header}» parece contener {nombre} pero no se reconoce su encabezado; "
            f'no se registró nada. Indícala con --columna "{header}={campo}" (o '
            f'--columna "{header}=ignorar" si no debe usarse)',
            archivo=item["archivo"],
            hoja=item["hoja"],
        )


def warning_rows(items: Sequence[dict]) -> pl.DataFrame:
    """One ``COLUMNA_IGNORADA`` warning per ignored column (the WARNING_COLUMNS shape)."""
    return pl.DataFrame(
        {
            "archivo": [i["archivo"] for i in items],
            "hoja": [i["hoja"] for i in items],
            "fila": [i["fila"] for i in items],
            "columna": [i["columna"] for i in items],
            "valor": [""] * len(items),
            "codigo": [CODIGO] * len(items),
            "mensaje": [MENSAJE] * len(items),
        },
        schema={
            "archivo": pl.String,
            "hoja": pl.String,
            "fila": pl.Int64,
            "columna": pl.String,
            "valor": pl.String,
            "codigo": pl.String,
            "mensaje": pl.String,
        },
    )


def summary_items(items: Sequence[dict]) -> list[dict]:
    """``columns_ignored`` of the summary: ``[{archivo, hoja, columna}]``."""
    return [{k: i[k] for k in ("archivo", "hoja", "columna")} for i in items]


__all__ = [
    "CODIGO",
    "check_ignored",
    "check_mapped",
    "ignored_columns",
    "parse_columnas",
    "summary_items",
    "warning_rows",
]
