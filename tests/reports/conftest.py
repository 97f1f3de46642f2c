"""Report fixtures: a registry built through the CLI (see ``reports_helpers.construir``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from reports_helpers import Registro, construir

from buzon.settings import Settings


@pytest.fixture
def registro(db_settings: Settings, tmp_path: Path) -> Registro:
    """The known registry on every backend, with the embedded (demonstration) seal."""
    return construir(db_settings, tmp_path)


@pytest.fixture(scope="module")
def registro_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Registro:
    """The same registry once per module on SQLite (for the outputs that only read it)."""
    tmp = tmp_path_factory.mktemp("registro")
    home = tmp / "home"
    home.mkdir()
    return construir(Settings(home=home), tmp)
