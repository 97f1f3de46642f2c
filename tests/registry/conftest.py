"""Registry fixtures: an engine per backend and one institution seal for the session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine

from buzon.settings import Settings
from registry.db import get_engine
from signers import demo
from signers.seal import Sello


@pytest.fixture(scope="session")
def seal_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One institution key/certificate for the whole session (made by the embedded default)."""
    home = tmp_path_factory.mktemp("seal-home")
    Sello.load(Settings(home=home))
    keys = home / "keys"
    return keys / "sello.key.pem", keys / "sello.cert.pem"


@pytest.fixture
def rsettings(db_settings: Settings, seal_files: tuple[Path, Path]) -> Settings:
    """``db_settings`` plus the session seal and small chunks."""
    return db_settings.model_copy(
        update={"seal_key": seal_files[0], "seal_cert": seal_files[1], "chunk_size": 50}
    )


@pytest.fixture
def sello(rsettings: Settings) -> Sello:
    return Sello.load(rsettings)


@pytest.fixture
def engine(rsettings: Settings) -> Iterator[Engine]:
    yield get_engine(rsettings)


# --- e.firmas for the signing-request tests (issue 14) ------------------------------------------


@dataclass(frozen=True)
class Fiel:
    """A SAT-shaped FIEL on disk: DER ``.cer``, SAT-encrypted DER ``.key`` and its password."""

    cer: Path
    key: Path
    password: str
    password_file: Path
    numero: str


@dataclass
class Fieles:
    """FIELs made on demand under one trusted CA (``ca_dir``) and one untrusted CA."""

    root: Path
    now: datetime
    ca: demo.Autoridad
    ajena: demo.Autoridad
    key: object
    ca_dir: Path

    def make(self, name: str, rfc: str, *, ajena: bool = False, **extra: object) -> Fiel:
        kw = {
            "not_before": self.now - timedelta(days=30),
            "not_after": self.now + timedelta(days=4 * 365),
            **extra,
        }
        numero = demo.new_numero()
        cert = demo.make_certificate(
            self.ajena if ajena else self.ca, rfc, key=self.key, numero=numero, **kw
        )
        password = f"Clave {name}-ñ"
        cer, key = self.root / f"{name}.cer", self.root / f"{name}.key"
        cer.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        key.write_bytes(demo.encrypt_key_sat(self.key, password))
        pw = self.root / f"{name}.pw"
        pw.write_text(password + "\n", encoding="utf-8")
        pw.chmod(0o600)  # the holder's password file: refused if others can read it
        return Fiel(cer, key, password, pw, numero)


FIELES_NOW = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def fieles(tmp_path_factory: pytest.TempPathFactory) -> Fieles:
    root = tmp_path_factory.mktemp("fieles")
    key = demo.new_key()
    ca = demo.make_ca(FIELES_NOW, nombre="AC DE PRUEBA DEL SAT")
    ajena = demo.make_ca(FIELES_NOW, nombre="AC AJENA", key=key)
    ca_dir = root / "ac"
    ca_dir.mkdir()
    (ca_dir / "ac.cer").write_bytes(ca.cert.public_bytes(serialization.Encoding.DER))
    return Fieles(root=root, now=FIELES_NOW, ca=ca, ajena=ajena, key=key, ca_dir=ca_dir)
