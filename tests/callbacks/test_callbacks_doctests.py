"""The examples in the receiver's docstrings (CSRF forms, proxies, pair subjects, signatures)."""

from __future__ import annotations

import doctest

import pytest

import callbacks.csrf
import callbacks.signature
import callbacks.throttle


@pytest.mark.parametrize("module", [callbacks.csrf, callbacks.signature, callbacks.throttle])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
