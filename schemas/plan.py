"""``plan``: read uploads, validate every entry, and account for every one. Changes nothing.

Pure functions, no Prefect: ``buzon plan`` starts fast and ``flows/plan.py`` wraps the same steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from buzon.errors import NoHeaderError
from loaders import RawSheet, read_upload
from schemas.entries import ENTRY_SCHEMA, detect_layout, extract_entries
from schemas.limits import Existing

ExistingLoader = Callable[[list[str], list[str]], Existing]
Progress = Callable[[str], None]


@dataclass
class FileEntries:
    """What one file contributed: its entries and the sheets without a header."""

    archivo: str
    entries: pl.DataFrame
    sheets_skipped: list[dict[str, str | None]] = field(default_factory=list)


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


def load_file(path: str | Path, *, max_bytes: int = 200 * 2**20) -> FileEntries:
    """Read one upload into entries (file order). Raises InputError if the file is unusable."""
    path = Path(path)
    sheets: list[RawSheet] = read_upload(path, max_bytes=max_bytes)
    parts: list[pl.DataFrame] = []
    skipped: list[dict[str, str | None]] = []
    for sheet in sheets:
        layout = detect_layout(sheet)
        if layout is None:
            skipped.append({"archivo": sheet.archivo, "hoja": sheet.hoja})
            continue
        parts.append(extract_entries(sheet, layout))
    if not parts:
        raise NoHeaderError(
            "ninguna hoja tiene una fila de encabezados con columna RFC en sus primeras 10 filas",
            archivo=path.name,
        )
    return FileEntries(archivo=path.name, entries=pl.concat(parts), sheets_skipped=skipped)


def combine(files: Sequence[FileEntries]) -> pl.DataFrame:
    """All entries in file order (argument, sheet, row, column) with a global ``orden``."""
    frames = [f.entries for f in files] or [pl.DataFrame(schema=ENTRY_SCHEMA)]
    return pl.concat(frames).with_row_index("orden").with_columns(pl.col("orden").cast(pl.Int64))


def summarize(files: Sequence[FileEntries], entries: pl.DataFrame, warnings: pl.DataFrame) -> dict:
    # Only the columns the counts need: filtering every column of a million rows costs more.
    entries = entries.select("codigo", "mecanismo", "rfc", "rp", "medio", "duplicado")
    accepted = entries.filter(pl.col("codigo").is_null())

    def counts(frame: pl.DataFrame) -> dict[str, int]:
        grouped = frame.group_by("codigo").len().sort("codigo")
        return {code: n for code, n in grouped.iter_rows()}

    # Distinct counts on one concatenated key: unique() over several string columns was the
    # slowest part of the summary at a million entries.
    media = accepted.group_by("mecanismo").agg(
        pl.concat_str(["rfc", "medio"], separator="\x1f").n_unique().alias("n")
    )
    media_counts = {"correo": 0, "telefono": 0} | {m: n for m, n in media.iter_rows()}
    return {
        "files": [f.archivo for f in files],
        "sheets_skipped": [s for f in files for s in f.sheets_skipped],
        "entries": entries.height,
        "accepted": accepted.height,
        "rejected": entries.height - accepted.height,
        "rejections": counts(entries.select("codigo").filter(pl.col("codigo").is_not_null())),
        "warnings": counts(warnings),
        "media": media_counts,
        # A duplicate repeats (rfc, rp, mecanismo, medio) of an earlier accepted entry.
        "scopes": accepted.height - int(accepted["duplicado"].sum()),
        "rfcs": accepted["rfc"].n_unique(),
        "rps": accepted["rp"].drop_nulls().n_unique(),
    }


def plan_entries(
    files: Sequence[FileEntries],
    *,
    existing_loader: ExistingLoader | None = None,
    rp_digito_warning: bool = False,
    check_model: bool = True,
) -> PlanResult:
    """Validate the entries of already-read files (against the registry when a loader is given).

    The accepted entries are then checked against :class:`schemas.models.AcceptedEntries` (an
    internal invariant: a failure raises InvariantError); ``check_model=False`` skips it.
    """
    entries = combine(files)
    existing = None
    if existing_loader is not None:
        from schemas.normalize import rfc_compact, rp_compact

        keys = entries.select(
            rfc_compact("rfc_valor").alias("rfc"), rp_compact("rp_valor").alias("rp")
        )
        existing = existing_loader(
            keys["rfc"].drop_nulls().unique().to_list(), keys["rp"].drop_nulls().unique().to_list()
        )
    from schemas.validate import WARNING_COLUMNS, validate_entries

    validated = validate_entries(entries, existing, rp_digito_warning=rp_digito_warning)
    warnings = validated.warnings.select(WARNING_COLUMNS)
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


def plan_files(
    paths: Sequence[str | Path],
    settings=None,  # noqa: ANN001 - buzon.settings.Settings; optional for library use
    *,
    existing_loader: ExistingLoader | None = None,
    progress: Progress | None = None,
) -> PlanResult:
    """Read and validate ``paths`` (all are read before anything is validated)."""
    max_bytes = settings.max_file_bytes if settings is not None else 200 * 2**20
    imported = prefetch_validation()
    files = []
    for path in paths:
        if progress:
            progress(f"leyendo {Path(path).name}")
        files.append(load_file(path, max_bytes=max_bytes))
    imported.join()
    if progress:
        progress("validando")
    return plan_entries(
        files,
        existing_loader=existing_loader,
        rp_digito_warning=bool(settings and settings.rp_digito_warning),
    )
