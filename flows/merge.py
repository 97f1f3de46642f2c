"""The one way a flow folds its chunks' typed results into the run's total.

Each result type keeps its own rule (``ApplyResult.add``, ``Resultado.merge``); this module only
picks it, so no flow adds counters by hand or rebuilds a result from a dict. No Prefect import: a
flow passes plain results (``future.result()``) in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from registry.activate import Resultado
from registry.apply import ApplyResult

R = TypeVar("R", ApplyResult, Resultado)

_RULES: dict[type, Callable[[Any, Any], None]] = {
    ApplyResult: ApplyResult.add,
    Resultado: Resultado.merge,
}


def merge(total: R, parts: Iterable[R]) -> R:
    """Fold every chunk's result into ``total`` (in place) with its type's rule; returns it.

    >>> total = merge(ApplyResult(), [ApplyResult(registered=2, chunks=1, rp_ajeno=1)] * 2)
    >>> total.registered, total.chunks, total.rp_ajeno
    (4, 2, 2)
    """
    rule = _RULES[type(total)]
    for part in parts:
        if type(part) is not type(total):
            raise TypeError(f"cannot merge {type(part).__name__} into {type(total).__name__}")
        rule(total, part)
    return total
