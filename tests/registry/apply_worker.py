"""Run ``apply_entries`` on a parquet frame in its own process (concurrency and crash tests).

Usage: python apply_worker.py FRAME.parquet  (settings from BUZON_* variables)
"""

from __future__ import annotations

import json
import sys

import polars as pl

from buzon.settings import Settings
from registry.apply import apply_entries
from registry.db import get_engine

if __name__ == "__main__":
    settings = Settings()
    result = apply_entries(get_engine(settings), settings, pl.read_parquet(sys.argv[1]))
    print(json.dumps(result.as_dict()))
