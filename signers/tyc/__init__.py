"""The Terms and Conditions text the particular signs, and which one is in force.

The project ships its own wording (``tyc-<version>.txt`` beside this module, citing the legal bases
of DESIGN.md §2). An operator replaces it with the official text through ``BUZON_TYC_FILE`` and
``BUZON_TYC_VERSION``; the acuse records the version, the SHA-256 of the exact bytes signed and
whether the text came from the project or the operator.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from buzon.errors import ConfigError
from buzon.settings import Settings

VERSION = "1.1"
_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Tyc:
    version: str
    texto: str
    sha256: str
    origen: str  # 'proyecto' | 'operador'


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"el texto de términos y condiciones no está en UTF-8: {path}") from None


def cargar(settings: Settings) -> Tyc:
    """The T&C in force: the operator's file when configured, else the project's own text."""
    if settings.tyc_file is not None:
        path = Path(settings.tyc_file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"no se pudo leer BUZON_TYC_FILE: {exc.strerror or exc}", archivo=str(path)
            ) from None
        if not data.strip():
            raise ConfigError("BUZON_TYC_FILE está vacío", archivo=str(path))
        digest = hashlib.sha256(data).hexdigest()
        # Without an explicit version the text's own digest names it, so two texts never share one.
        version = settings.tyc_version or f"operador-{digest[:12]}"
        return Tyc(version, _decode(data, path), digest, "operador")
    version = settings.tyc_version or VERSION
    path = _HERE / f"tyc-{version}.txt"
    if not path.is_file():
        raise ConfigError(
            f"no existe el texto de términos y condiciones versión {version} del proyecto; "
            "indique BUZON_TYC_FILE"
        )
    data = path.read_bytes()
    return Tyc(version, _decode(data, path), hashlib.sha256(data).hexdigest(), "proyecto")
