"""The ``plan_of`` fixture: rows in, a plan result out, through real files and the real loaders."""

from __future__ import annotations

from pathlib import Path

import pytest
from plan_helpers import PlanOf, Rows, write_csv, write_xlsx

from schemas.limits import Existing
from schemas.plan import PlanResult, load_file, plan_entries


@pytest.fixture
def plan_of(tmp_path: Path) -> PlanOf:
    """``plan_of(rows)`` (one CSV), ``plan_of({'Hoja': rows, ...})`` (one xlsx) or
    ``plan_of([rows_or_sheets, ...], many=True)`` (several files), with optional ``existing`` and
    ``rp_digito_warning``."""
    counter = iter(range(10_000))

    def _file(content: Rows | dict[str, Rows]) -> Path:
        n = next(counter)
        if isinstance(content, dict):
            return write_xlsx(tmp_path / f"carga{n}.xlsx", content)
        return write_csv(tmp_path / f"carga{n}.csv", content)

    def run(
        content: object,
        *,
        many: bool = False,
        existing: Existing | None = None,
        rp_digito_warning: bool = False,
    ) -> PlanResult:
        contents = content if many else [content]
        files = [load_file(_file(c)) for c in contents]  # type: ignore[union-attr]
        loader = (lambda rfcs, rps: existing) if existing is not None else None
        return plan_entries(files, read_registro=loader, rp_digito_warning=rp_digito_warning)

    return run
