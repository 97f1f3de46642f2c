"""What the benchmarks' floors share: the CPU of one RSA sello and the process's CPU clock."""

from __future__ import annotations

import resource
import statistics
import time

from signers.seal import Sello

SIGNATURES = 2000  # signatures timed one by one for the median


def cpu() -> float:
    """CPU seconds of this process so far (every thread, user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def sign_cpu(sello: Sello, tipo: str, n: int = SIGNATURES) -> float:
    """Median CPU seconds of one RSA-2048 sello, each timed on its own thread's clock."""
    times = []
    for i in range(n):
        text = f"||3.0|BI-20240808-{i:09d}|2024-08-08T11:42:45-06:00|{tipo}|X||"
        c = time.thread_time()
        sello.sign(text)
        times.append(time.thread_time() - c)
    return statistics.median(times)
