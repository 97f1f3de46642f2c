"""The events inbox: gateways and other receivers drop event files here for the next reconcile.

A scheduled reconcile has no file arguments; it takes whatever lies in ``$BUZON_HOME/eventos/
entrada`` (``BUZON_INBOX_DIR``), and after the run that imported them committed, moves them to
``procesados/<AAAAMMDD>/``. A crash between the two leaves the files in place: importing them
again is harmless, because every event is recorded once by its content hash.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

SUFIJOS = (".csv", ".jsonl", ".json", ".txt")


def pending_files(inbox: Path) -> list[Path]:
    """Event files waiting in ``inbox``, oldest name first (hidden and partial files skipped).

    >>> pending_files(Path("/no/existe"))
    []
    """
    if not inbox.is_dir():
        return []
    return sorted(
        p
        for p in inbox.iterdir()
        if p.is_file() and p.suffix.lower() in SUFIJOS and not p.name.startswith((".", "~"))
    )


def archive_files(inbox: Path, files: list[Path], now: datetime) -> list[Path]:
    """Move imported files to ``inbox/procesados/<AAAAMMDD>/``, never overwriting one."""
    target = inbox / "procesados" / now.strftime("%Y%m%d")
    target.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in files:
        if not path.exists():  # another run archived it already
            continue
        dest = target / path.name
        n = 1
        while dest.exists():
            dest = target / f"{path.stem}.{n}{path.suffix}"
            n += 1
        path.rename(dest)
        moved.append(dest)
    return moved
