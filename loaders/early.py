"""Start parsing workbooks before the program has finished starting up.

calamine parses a sheet without holding the GIL, and parsing is most of a workbook's read (about
1.5 s of 2 at a million entries), while importing polars, pydantic and the validation libraries
holds it for about half a second. ``buzon plan`` calls :func:`read_early` first thing, so a
background thread parses the workbooks while the main thread imports; :func:`take` then hands
:func:`loaders.excel.read_workbook` what was parsed.

Nothing here decides anything: the file checks of :func:`loaders.read_upload` (existence, size
limit, type, magic bytes) still run first, in the main thread, and raise as before. A parse that
failed is replayed as its exception at the same step of ``read_workbook`` (and mapped to the same
message). Only this module, :mod:`loaders.guard` and the standard library are imported here;
fastexcel is imported in the background thread, after :func:`loaders.guard.check_workbook` has
passed the workbook with the default limits (a workbook it refuses, or one with a sheet it sends
to the cell-by-cell fallback, is left to the ordinary read, which checks it with the configured
limits).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loaders.guard import check_workbook
from loaders.types import EXCEL_EXTENSIONS

# Larger files are read the ordinary way: a file this large may be refused by the size limit.
EARLY_MAX_BYTES = 200 * 2**20
# What read_workbook asks calamine for (see there): every sheet, every row, every cell as text.
SHEET_OPTIONS: dict[str, Any] = {"header_row": None, "skip_rows": 0, "dtypes": "string"}


@dataclass
class ParsedBook:
    """The early parse of one workbook: its sheet names and each sheet (or the parse error)."""

    names: list[str] | None = None
    sheets: list[Any] | None = None  # fastexcel.ExcelSheet or the exception load_sheet raised
    open_error: Exception | None = None  # what fastexcel.read_excel or sheet_names raised


@dataclass(frozen=True)
class _Pending:
    stamp: tuple[int, int]  # (size, mtime_ns) when the parse started
    result: Future[ParsedBook | None]


_lock = threading.Lock()
_pending: dict[Path, deque[_Pending]] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns)


def parse(path: Path, skip: frozenset[str] = frozenset()) -> ParsedBook:
    """Open the workbook and parse every sheet, stopping at the first that fails (as
    :func:`loaders.excel.read_workbook` does). A sheet in ``skip`` is not parsed (None)."""
    import fastexcel

    book = ParsedBook()
    try:
        reader = fastexcel.read_excel(path)
        book.names = list(reader.sheet_names)
    except Exception as exc:  # replayed by read_workbook, which maps it to an InputError
        book.open_error = exc
        return book
    book.sheets = []
    for name in book.names:
        if name in skip:
            book.sheets.append(None)
            continue
        try:
            book.sheets.append(reader.load_sheet(name, **SHEET_OPTIONS))
        except Exception as exc:
            book.sheets.append(exc)
            break  # read_workbook stops at the first sheet that fails
    return book


def _guarded_parse(path: Path) -> ParsedBook | None:
    """:func:`parse` once the guard passed the whole workbook to calamine, else None."""
    try:
        if not check_workbook(path).calamine_safe:
            return None
    except Exception:  # refused: the ordinary read raises it with the configured limits
        return None
    return parse(path)


def _work(jobs: list[tuple[Path, Future[ParsedBook | None]]]) -> None:
    for path, result in jobs:
        if not result.set_running_or_notify_cancel():
            continue
        try:
            result.set_result(_guarded_parse(path))
        except BaseException as exc:  # never leave a reader waiting
            result.set_exception(exc)


def read_early(paths: Sequence[str | Path]) -> None:
    """Start parsing the workbooks among ``paths`` in one background thread, in argument order.

    Earlier parses nobody took are dropped. Files that are not a workbook by their extension,
    missing, or larger than :data:`EARLY_MAX_BYTES` are left to the ordinary read.
    """
    jobs: list[tuple[Path, Future[ParsedBook | None]]] = []
    pending: dict[Path, deque[_Pending]] = {}
    for raw in paths:
        path = Path(raw)
        stamp = _stamp(path)
        if path.suffix.lower() not in EXCEL_EXTENSIONS or stamp is None:
            continue
        if not path.is_file() or not 0 < stamp[0] <= EARLY_MAX_BYTES:
            continue
        result: Future[ParsedBook | None] = Future()
        jobs.append((path, result))
        pending.setdefault(path.resolve(), deque()).append(_Pending(stamp, result))
    with _lock:
        for old in _pending.values():
            for item in old:
                item.result.cancel()
        _pending.clear()
        _pending.update(pending)
    if jobs:
        # A daemon thread: an error that ends the program early must not wait for a parse.
        threading.Thread(target=_work, args=(jobs,), name="buzon-lectura", daemon=True).start()


def take(path: Path) -> ParsedBook | None:
    """The early parse of ``path`` (waiting for it to finish), or None if there is none or the
    file changed since it started."""
    with _lock:
        queue = _pending.get(path.resolve())
        item = queue.popleft() if queue else None
    if item is None:
        return None
    try:
        book = item.result.result()
    except Exception:  # the parse itself broke (not the workbook): read the ordinary way
        return None
    return book if book is not None and _stamp(path) == item.stamp else None
