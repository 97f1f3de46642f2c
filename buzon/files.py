"""Writing files so that a reader or a crash never sees half of one, and keeping secrets private.

Every whole-file write of the project (plan outputs, spooled emails, seal keys and certificates)
goes through :func:`atomic_write`. Files holding a secret (keys, the database, spooled messages
with live links and codes) are created owner-only (:data:`PRIVATE_FILE`, :data:`PRIVATE_DIR`);
outputs meant to be shared (plan and report files) follow the umask.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from buzon.errors import ConfigError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO


def current_umask() -> int:
    """The process umask, read without changing it (Linux ``/proc``), else by a brief set."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file gets exactly ``mode`` when one is given (a secret: :data:`PRIVATE_FILE`), else what
    the umask leaves of 0666, as any program's output. The mode is applied to the temporary file
    before a byte is written, so a secret is never readable by others, not even for an instant;
    it is fsync'ed before the rename, so the name always points at a whole file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode if mode is not None else 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Create ``path`` (and parents) owner-only (0700) if missing; with ``tighten`` an existing
    folder is made owner-only too (the project's own folders: keys, spool), without it an
    existing folder is left alone (``BUZON_HOME`` may be a folder the operator chose)."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if tighten and stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and owner-only (0600) if it does not exist; an existing file that
    others can read is made owner-only. Used before a library (SQLite) creates the file itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & SHARED_BITS:
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def require_private(path: Path, *, what: str) -> None:
    """Refuse a secret file that the group or others can read, write or run."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & SHARED_BITS:
        raise ConfigError(
            f"{what} puede ser leído por otros usuarios (permisos {mode:o}); "
            f"ejecute: chmod 600 {path}",
            archivo=str(path),
        )
