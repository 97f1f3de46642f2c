"""``plan``: read uploads, validate every entry, and account for every one. Changes nothing.

Pure functions, no Prefect: ``buzon plan`` starts fast and ``flows/plan.py`` wraps the same steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from buzon.errors import NoHeaderError
from loaders import RawSheet, read_upload
from loaders.guard import Limits
from schemas.columnas import (
    check_ignored,
    check_mapped,
    ignored_columns,
    summary_items,
    warning_rows,
)
from schemas.entries import ENTRY_SCHEMA, detect_layout, extract_entries
from schemas.headers import normalize
from schemas.limits import Existing
from schemas.todos import RpsLoader, expand_todos

# (rfcs, rps) -> what the registry holds for them (registry.reader.registro_reader).
RegistroReader = Callable[[list[str], list[str]], Existing]
Progress = Callable[[str], None]


@dataclass
class FileEntries:
    """What one file contributed: its entries and the sheets without a header."""

    archivo: str
    entries: pl.DataFrame
    sheets_skipped: list[dict[str, str | None]] = field(default_factory=list)
    # Columns nothing reads (schemas.columnas.ignored_columns) and every header text seen.
    columns_ignored: list[dict] = field(default_factory=list)
    headers: set[str] = field(default_factory=set)


@dataclass
class PlanResult:
    files: list[str]
    sheets_skipped: list[dict[str, str | None]]
    entries: pl.DataFrame
    warnings: pl.DataFrame
    summary: dict

    @property
    def accepted(self) -> pl.DataFrame:
        return self.entries.filter(pl.col("codigo").is_null())

    @property
    def rejected(self) -> pl.DataFrame:
        return self.entries.filter(pl.col("codigo").is_not_null())


def _import_validation() -> None:
    # pandera, email-validator, phonenumbers and stdnum take about half a second to import;
    # a background import overlaps it with the file read (calamine releases the GIL).
    import schemas.models  # noqa: F401
    import schemas.validate  # noqa: F401


def prefetch_validation() -> threading.Thread:
    """Start importing the validation modules in the background; join before validating."""
    thread = threading.Thread(target=_import_validation, name="buzon-import", daemon=True)
    thread.start()
    return thread


def load_file(
    path: str | Path,
    *,
    max_bytes: int = 200 * 2**20,
    columnas: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> FileEntries:
    """Read one upload into entries (file order). Raises InputError if the file is unusable,
    or if a column it would ignore looks like RPs, emails or mobiles.

    ``columnas``: hand mappings, normalized header -> role (``schemas.columnas.parse_columnas``).
    """
    path = Path(path)
    sheets: list[RawSheet] = read_upload(path, max_bytes=max_bytes, limits=limits)
    parts: list[pl.DataFrame] = []
    skipped: list[dict[str, str | None]] = []
    ignored: list[dict] = []
    headers: set[str] = set()
    for sheet in sheets:
        layout = detect_layout(sheet, columnas)
        if layout is None:
            skipped.append({"archivo": sheet.archivo, "hoja": sheet.hoja})
            continue
        headers.update(normalize(h) for found in layout.columns.values() for _, h in found)
        headers.update(normalize(h) for _, h in layout.ignored)
        ignored += ignored_columns(sheet, layout)
        parts.append(extract_entries(sheet, layout))
    check_ignored(ignored)
    if not parts:
        raise NoHeaderError(
            "ninguna hoja tiene una fila de encabezados con columna RFC en sus primeras 10 filas",
            archivo=path.name,
        )
    return FileEntries(
        archivo=path.name,
        entries=pl.concat(parts),
        sheets_skipped=skipped,
        columns_ignored=ignored,
        headers=headers,
    )


def combine(files: Sequence[FileEntries]) -> pl.DataFrame:
    """All entries in file order (argument, sheet, row, column) with a global ``orden``."""
    frames = [f.entries for f in files] or [pl.DataFrame(schema=ENTRY_SCHEMA)]
    return pl.concat(frames).with_row_index("orden").with_columns(pl.col("orden").cast(pl.Int64))


def _distinct(values: pl.Expr) -> pl.Expr:
    """Distinct values of a column whose equal values mostly sit together (an RFC or RP repeats
    on consecutive entries): equal neighbours are dropped first, which is cheap, so the hashing
    sees a fraction of the rows."""
    return values.filter(values.ne_missing(values.shift(1))).n_unique()


def summarize(files: Sequence[FileEntries], entries: pl.DataFrame, warnings: pl.DataFrame) -> dict:
    accepted = pl.col("codigo").is_null()
    mechanism = pl.col("mecanismo")

    def pairs(kind: str) -> pl.Expr:
        # Distinct (rfc, medio) on one concatenated key, built on the rows that count only:
        # unique() over several string columns was the slowest part of the summary.
        rows = accepted & (mechanism == kind)
        return pl.concat_str(
            [pl.col("rfc").filter(rows), pl.col("medio").filter(rows)], separator="\x1f"
        ).n_unique()

    # One select: polars computes the expressions side by side.
    counts = entries.select(
        accepted.sum().alias("accepted"),
        pl.col("duplicado").filter(accepted).sum().alias("duplicados"),
        pairs("correo").alias("correo"),
        pairs("telefono").alias("telefono"),
        _distinct(pl.col("rfc").filter(accepted)).alias("rfcs"),
        _distinct(pl.col("rp").filter(accepted & pl.col("rp").is_not_null())).alias("rps"),
    ).row(0, named=True)

    def by_code(codes: pl.Series) -> dict[str, int]:
        grouped = codes.drop_nulls().value_counts().sort(codes.name)
        return {code: n for code, n in grouped.iter_rows()}

    return {
        "files": [f.archivo for f in files],
        "sheets_skipped": [s for f in files for s in f.sheets_skipped],
        "entries": entries.height,
        "accepted": counts["accepted"],
        "rejected": entries.height - counts["accepted"],
        "rejections": by_code(entries["codigo"]),
        "warnings": by_code(warnings["codigo"]),
        "media": {"correo": counts["correo"], "telefono": counts["telefono"]},
        # A duplicate repeats (rfc, rp, mecanismo, medio) of an earlier accepted entry.
        "scopes": counts["accepted"] - counts["duplicados"],
        "rfcs": counts["rfcs"],
        "rps": counts["rps"],
        "columns_ignored": summary_items([c for f in files for c in f.columns_ignored]),
    }


def plan_entries(
    files: Sequence[FileEntries],
    *,
    read_registro: RegistroReader | None = None,
    rp_digito_warning: bool = False,
    check_model: bool = True,
    sync: bool = False,
    rps_loader: RpsLoader | None = None,
) -> PlanResult:
    """Validate the entries of already-read files (against the registry when a reader is given).

    ``sync``: the upload is the desired state of its RFCs (``apply --sync``), so registry media it
    does not list are counted as gone before the limits are checked.
    The accepted entries are then checked against :class:`schemas.models.AcceptedEntries` (an
    internal invariant: a failure raises InvariantError); ``check_model=False`` skips it.
    An RP cell «TODOS» first becomes one entry per RP of its RFC (``schemas.todos``; the
    registry's RPs through ``rps_loader`` when given).
    """
    entries = expand_todos(combine(files), rps_loader)
    existing = None
    if read_registro is not None:
        from schemas.normalize import rfc_compact, rp_compact

        # Each distinct spelling once: cells repeat on every entry of a row.
        def keys(column: str, compact: pl.Expr) -> list[str]:
            spellings = entries.select(pl.col(column).unique())
            return spellings.select(compact.unique().drop_nulls()).to_series().to_list()

        existing = read_registro(
            keys("rfc_valor", rfc_compact("rfc_valor")), keys("rp_valor", rp_compact("rp_valor"))
        )
    from schemas.validate import WARNING_COLUMNS, validate_entries

    validated = validate_entries(entries, existing, rp_digito_warning=rp_digito_warning, sync=sync)
    warnings = validated.warnings.select(WARNING_COLUMNS)
    ignored = [c for f in files for c in f.columns_ignored]
    if ignored:
        warnings = pl.concat([warning_rows(ignored), warnings], how="vertical_relaxed")
    if not check_model:
        summary = summarize(files, validated.entries, warnings)
    else:
        from schemas.models import AcceptedEntries, check_accepted

        # The model check and the summary only read the entries; polars releases the GIL, so
        # they run side by side. The check's InvariantError is raised here, as before.
        # The model's columns only: filtering all of them would copy a million rows of the rest.
        accepted = validated.entries.select(list(AcceptedEntries.to_schema().columns)).filter(
            pl.col("codigo").is_null()
        )
        with ThreadPoolExecutor(max_workers=1) as pool:
            checked = pool.submit(check_accepted, accepted)
            summary = summarize(files, validated.entries, warnings)
            checked.result()
    return PlanResult(
        files=[f.archivo for f in files],
        sheets_skipped=[s for f in files for s in f.sheets_skipped],
        entries=validated.entries,
        warnings=warnings,
        summary=summary,
    )


def workbook_limits(settings=None) -> Limits:  # noqa: ANN001 - buzon.settings.Settings
    """``BUZON_MAX_CELLS`` and ``BUZON_MAX_UNZIPPED_BYTES`` (the defaults without settings)."""
    if settings is None:
        return Limits()
    return Limits(max_cells=settings.max_cells, max_unzipped_bytes=settings.max_unzipped_bytes)


def plan_files(
    paths: Sequence[str | Path],
    settings=None,  # noqa: ANN001 - buzon.settings.Settings; optional for library use
    *,
    read_registro: RegistroReader | None = None,
    progress: Progress | None = None,
    sync: bool = False,
    columnas: Mapping[str, str] | None = None,
    rps_loader: RpsLoader | None = None,
) -> PlanResult:
    """Read and validate ``paths`` (all are read before anything is validated).

    ``columnas``: hand mappings (``--columna``); one whose header no file has is an error.
    """
    max_bytes = settings.max_file_bytes if settings is not None else 200 * 2**20
    limits = workbook_limits(settings)
    imported = prefetch_validation()
    files = []
    for path in paths:
        if progress:
            progress(f"leyendo {Path(path).name}")
        files.append(load_file(path, max_bytes=max_bytes, columnas=columnas, limits=limits))
    check_mapped(columnas, [f.headers for f in files])
    imported.join()
    if progress:
        progress("validando")
    return plan_entries(
        files,
        read_registro=read_registro,
        rp_digito_warning=bool(settings and settings.rp_digito_warning),
        sync=sync,
        rps_loader=rps_loader,
    )
