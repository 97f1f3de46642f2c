"""Registry fixtures: an engine per backend and one institution seal for the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from buzon.settings import Settings
from registry.db import get_engine
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
