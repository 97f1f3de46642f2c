"""Every module's docstring examples run: each package at the project root is walked with pkgutil.

A new package or module is picked up without editing anything; a module that cannot be imported
fails here (its doctests would otherwise be skipped in silence). Only scripts, which run a program
when imported, are left out: ``__main__`` modules and Alembic's ``env.py``, by name.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_PACKAGES = {"tests"}
# Executed by Alembic inside a migration context; importing it bare raises by design.
TOOL_SCRIPTS = {"registry.migrations.env"}


def _packages() -> list[str]:
    return sorted(
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").is_file() and p.name not in NOT_PACKAGES
    )


def _modules() -> list[str]:
    names: list[str] = []
    for package in _packages():
        names.append(package)
        path = [str(ROOT / package)]
        for info in pkgutil.walk_packages(path, prefix=f"{package}.", onerror=_raise):
            if not _script(info.name):
                names.append(info.name)
    return sorted(names)


def _script(name: str) -> bool:
    return name in TOOL_SCRIPTS or name.endswith(".__main__")


def _raise(name: str) -> None:
    raise ImportError(f"cannot walk package {name}")


MODULES = _modules()


def test_every_package_is_walked() -> None:
    # The walk must reach the layers the project is made of, and every .py file under them.
    assert {"buzon", "loaders", "schemas", "signers", "registry", "delivery"} <= set(_packages())
    on_disk = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in _packages()
        for p in (ROOT / package).rglob("*.py")
    }
    assert {m for m in on_disk - set(MODULES) if not _script(m)} == set()
    assert on_disk >= TOOL_SCRIPTS  # a stale exclusion would hide a module of that name


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
