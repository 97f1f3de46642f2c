"""Cadena fields: the fast path of ``escapar`` says exactly what the general rule says."""

from __future__ import annotations

import random
import re

from registry.acuses import escapar

_WS = re.compile(r"\s+")
PIEZAS = [" ", "a", "|", "\\", "\n", "\t", "\xa0", "\u2003", "Ñ", "\x1f", "b", "  ", "é"]


def _regla(value: object) -> str:
    if value is None:
        return ""
    return _WS.sub(" ", str(value)).strip().replace("\\", "\\\\").replace("|", "\\|")


def test_escapar_matches_the_rule_on_random_text() -> None:
    rnd = random.Random(7)
    for _ in range(20_000):
        text = "".join(rnd.choice(PIEZAS) for _ in range(rnd.randrange(0, 9)))
        assert escapar(text) == _regla(text), repr(text)
    assert escapar(None) == "" and escapar(12) == "12"
