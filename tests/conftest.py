"""Shared fixtures: an isolated BUZON_HOME per test and the store on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as settings_hypothesis
from sqlalchemy import create_engine

from buzon.settings import Settings

PG_URL = os.environ.get("BUZON_TEST_POSTGRES_URL")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # --doctest-modules would import every tests/*/conftest.py as a module named "conftest" and
    # fail on the second one ("import file mismatch"); they are still loaded as conftests.
    return True if collection_path.name == "conftest.py" else None


BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

# Property tests: a seed-pinned, few-second profile by default (CI); BUZON_HYPOTHESIS_PROFILE=largo
# for a long, randomised run. Read here, once, because profiles must exist before tests collect.
settings_hypothesis.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings_hypothesis.register_profile(
    "largo",
    max_examples=400,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings_hypothesis.load_profile(os.environ.get("BUZON_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests build their own settings; the developer's BUZON_* variables must not leak in.
    for key in list(os.environ):
        if key.startswith("BUZON_") and key != "BUZON_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "buzon-home"
    path.mkdir()
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    """Embedded defaults (SQLite, spool transports) under a fresh home."""
    return Settings(home=home)


def _fresh_pg_schema() -> Iterator[str]:
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        from registry.db import dispose_all

        dispose_all()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_settings(request: pytest.FixtureRequest, home: Path) -> Iterator[Settings]:
    """Settings for the store on every backend under test (SQLite; PostgreSQL when configured)."""
    if request.param == "sqlite":
        yield Settings(home=home)
        from registry.db import dispose_all

        dispose_all()
    else:
        for url in _fresh_pg_schema():
            yield Settings(home=home, database_url=url)
