"""The examples in the registry's docstrings (folio format, cadena escaping, audit origen)."""

from __future__ import annotations

import doctest

import pytest

import registry.acuses
import registry.audit
import registry.folios
import registry.states


@pytest.mark.parametrize(
    "module", [registry.acuses, registry.audit, registry.folios, registry.states]
)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
