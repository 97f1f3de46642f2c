"""Folios: format, order, bursts ahead of the wall clock, and no collisions between writers."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from registry.folios import allocate, format_folio
from registry.tables import folio_reloj

FOLIO = re.compile(r"^BI-\d{8}-\d{9}$")
T0 = datetime(2024, 8, 8, 17, 42, 45, 846000, tzinfo=UTC)


def test_format_is_mexico_city_time() -> None:
    assert format_folio(int(T0.timestamp() * 1000)) == "BI-20240808-114245846"


def test_block_starts_now_and_is_consecutive(engine: Engine) -> None:
    with engine.begin() as conn:
        block = allocate(conn, 3, T0)
    assert block == ["BI-20240808-114245846", "BI-20240808-114245847", "BI-20240808-114245848"]


def test_burst_runs_ahead_then_falls_back_to_the_clock(engine: Engine) -> None:
    with engine.begin() as conn:
        burst = allocate(conn, 5000, T0)  # five seconds' worth of milliseconds at one instant
        after = allocate(conn, 1, T0 + timedelta(milliseconds=10))
        later = allocate(conn, 1, T0 + timedelta(seconds=60))
        last = conn.execute(select(folio_reloj.c.ultimo_ms)).scalar_one()
    assert burst[-1] == "BI-20240808-114250845"
    assert after == ["BI-20240808-114250846"]  # after the block, not at the wall clock
    assert later == ["BI-20240808-114345846"]  # the wall clock again once it is ahead
    assert last == int((T0 + timedelta(seconds=60)).timestamp() * 1000)
    assert all(FOLIO.match(f) for f in burst) and burst == sorted(burst)


def test_clock_going_backwards_never_reuses(engine: Engine) -> None:
    with engine.begin() as conn:
        first = allocate(conn, 2, T0)
        earlier = allocate(conn, 2, T0 - timedelta(hours=1))
    assert earlier[0] > first[-1]


def test_rolled_back_block_is_not_taken(engine: Engine) -> None:
    conn = engine.connect()
    with conn.begin() as tx:
        allocate(conn, 10, T0)
        tx.rollback()
    conn.close()
    with engine.begin() as conn:
        assert allocate(conn, 1, T0) == ["BI-20240808-114245846"]


def test_concurrent_writers_never_collide(engine: Engine) -> None:
    """Eight connections take 40 blocks each at the same instant: every folio distinct."""

    def worker(_: int) -> list[str]:
        out: list[str] = []
        for _ in range(40):
            with engine.begin() as conn:
                out += allocate(conn, 25, T0)
        return out

    with ThreadPoolExecutor(8) as pool:
        blocks = list(pool.map(worker, range(8)))
    todos = [f for b in blocks for f in b]
    assert len(todos) == len(set(todos)) == 8 * 40 * 25
    for b in blocks:
        assert b == sorted(b)
