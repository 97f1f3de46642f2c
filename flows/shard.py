"""Prefect flow: one shard of a ``buzon run --shards N`` (the ``buzon-shard`` deployment).

A shard is the accepted entries of the RFCs whose stable hash falls in it, so every per-RFC rule
(limits, scopes, ``--sync``) stays inside one shard. The parent run writes each shard's entries
as a Parquet file under ``$BUZON_HOME/shards/<run>/``, which must be storage every worker can read
(a shared folder when workers run on other machines); the shard writes its counts beside it. The
registry on PostgreSQL is the shared state. No secret travels as a parameter.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow

from flows.apply import apply_accepted


def shard_of(rfc: str, shards: int) -> int:
    """The shard of an RFC: CRC-32 of its UTF-8 bytes modulo ``shards`` (stable everywhere).

    >>> shard_of("EKU9003173C9", 2), shard_of("EKU9003173C9", 1)
    (0, 0)
    """
    return zlib.crc32(rfc.encode("utf-8")) % shards


def split_entries(accepted: pl.DataFrame, shards: int) -> list[pl.DataFrame]:
    """``accepted`` cut into ``shards`` frames by RFC, each keeping the upload's order."""
    rfcs = accepted.get_column("rfc").unique().to_list()
    mapping = pl.DataFrame(
        {"rfc": rfcs, "_shard": [shard_of(r, shards) for r in rfcs]},
        schema={"rfc": pl.String, "_shard": pl.Int64},
    )
    tagged = accepted.join(mapping, on="rfc", how="left", maintain_order="left")
    return [tagged.filter(pl.col("_shard") == i).drop("_shard") for i in range(shards)]


def result_path(entries: Path) -> Path:
    return entries.with_suffix(".json")


@flow(name="buzon-shard")
def shard_flow(entries: str, sync: bool = False) -> dict[str, Any]:
    """Apply one shard's entries (chunks of whole RFCs); writes its counts beside the file."""
    path = Path(entries)
    counts = apply_accepted(pl.read_parquet(path), sync)
    result_path(path).write_text(json.dumps(counts, ensure_ascii=False), encoding="utf-8")
    return counts
