"""Handling-time histograms with fixed log-scale buckets (S3): a compact summary that adds up
across days and merchants and still gives a median and a 90th percentile.

Bucket 0 holds times under a minute; bucket b >= 1 holds [60 * 2^((b-1)/4), 60 * 2^(b/4))
seconds: four buckets per doubling, each about 19% wide, up to `LAST` (about 1.5 years; longer
times fall in it too). A percentile is estimated as the geometric middle of the bucket that
holds the nearest-rank value (rank = ceil(q * n)); under a minute it is 30 s. The estimate is
within about 9% of the true value.

Histograms are dicts of bucket index (as text, the JSON key) to count. Pure: no database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

PER_DOUBLING = 4
LAST = 100


def bucket(seconds: float) -> int:
    """The bucket of a handling time in seconds."""
    if seconds < 60:
        return 0
    return min(LAST, 1 + math.floor(PER_DOUBLING * math.log2(seconds / 60) + 1e-9))


def bucket_bounds(index: int) -> tuple[float, float]:
    """The seconds a bucket covers, [low, high)."""
    if index == 0:
        return 0.0, 60.0
    return 60 * 2 ** ((index - 1) / PER_DOUBLING), 60 * 2 ** (index / PER_DOUBLING)


def bucket_value(index: int) -> int:
    """The value that stands for a bucket: its geometric middle (30 s for bucket 0)."""
    if index == 0:
        return 30
    return round(60 * 2 ** ((index - 0.5) / PER_DOUBLING))


def add(into: dict[str, int], seconds: float, count: int = 1) -> None:
    k = str(bucket(seconds))
    into[k] = into.get(k, 0) + count


def merge(hists: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for h in hists:
        merge_into(out, h)
    return out


def merge_into(into: dict[str, int], hist: Mapping[str, int]) -> None:
    """Add `hist`'s counts to `into`, in place."""
    for k, n in hist.items():
        into[k] = into.get(k, 0) + int(n)


def quantile(hist: Mapping[str, int], q: float) -> int | None:
    """The estimated `q` quantile (0 < q <= 1) in seconds; None for an empty histogram."""
    counts = sorted((int(k), int(n)) for k, n in hist.items() if int(n) > 0)
    total = sum(n for _k, n in counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total - 1e-9))
    seen = 0
    for index, n in counts:
        seen += n
        if seen >= rank:
            return bucket_value(index)
    return bucket_value(counts[-1][0])
