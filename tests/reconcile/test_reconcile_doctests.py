"""The examples in the docstrings of the reconcile package and the modules it relies on."""

from __future__ import annotations

import doctest

import pytest

import delivery.secrets
import reconcile.events
import registry.clock


@pytest.mark.parametrize("module", [reconcile.events, registry.clock, delivery.secrets])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
