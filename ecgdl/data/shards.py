"""Shards of a batch job: a job of N items split into ``num_shards`` gives shard ``i`` the contiguous block
``items[i*N//num_shards : (i+1)*N//num_shards]``, so joining the shards' results in shard order (``ecgdl.merge``)
gives exactly the rows, in the order, of one unsharded run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def shard_items(items: Sequence[T], shard_index: int = 0, num_shards: int = 1) -> list[T]:
    """Shard ``shard_index`` (0-based) of ``num_shards``: a contiguous block of ``items``."""
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"shard_index must be in 0..{num_shards - 1}, got {shard_index}")
    n = len(items)
    return list(items[shard_index * n // num_shards : (shard_index + 1) * n // num_shards])


def shard_suffix(shard_index: int, num_shards: int) -> str:
    """File-name suffix of one shard's report (empty for an unsharded job): ``.shard-002-of-016``."""
    return "" if num_shards <= 1 else f".shard-{shard_index:03d}-of-{num_shards:03d}"
