"""The statistics of the daily sample (D4, B5), pure functions without a database.

Drawing: weighted sampling without replacement by Efraimidis–Spirakis keys: each candidate
gets ``u ** (1 / w)`` for a uniform ``u`` from a generator seeded with the audit's seed, and the
`n` largest keys are the sample (computed as ``log(u) / w``, the same order without underflow).
Candidates are taken in a fixed order (the order id), so the same seed and the same orders
draw the same sample. With every weight 1 this is a simple random sample.

Estimating: the share of failed orders with a Wilson score interval. A sample weighted by risk
over-represents risky orders, so its plain failed share is biased upwards; the day's estimate
is then the Hájek estimator, each checked order weighed by the inverse of its inclusion
probability (approximated as ``n·w/Σw``, capped at 1: `inclusion_probabilities`), with the Wilson interval taken at Kish's
effective sample size ``(Σd)² / Σd²`` of those design weights.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

# 95 % two-sided
Z95 = 1.959963984540054


def sample_size(*, population: int, share_percent: Decimal, min_count: int, max_count: int) -> int:
    """``ceil(population × share)``, at least `min_count`, at most `max_count`, never more than
    the population. ValueError for a share outside 0..100 or `min_count` > `max_count`."""
    if not Decimal("0") <= share_percent <= Decimal("100"):
        raise ValueError("share_percent")
    if min_count > max_count:
        raise ValueError("min_count")
    wanted = int((Decimal(population) * share_percent / Decimal("100")).to_integral_value(ROUND_CEILING))
    return min(population, max(min_count, min(max_count, wanted)))


@dataclass(frozen=True, slots=True)
class Drawn:
    id: int
    weight: float
    key: float
    inclusion: float


def inclusion_probabilities(candidates: Sequence[tuple[int, float]], *, n: int) -> dict[int, float]:
    """Each candidate's approximate probability of being among `n` drawn in proportion to its
    weight: ``n·w/Σw``, where a candidate that would reach 1 is certain and the rest share what
    is left (repeated until none reaches 1). Exact for equal weights; an approximation for a
    draw by keys, good enough to correct the day's estimate for the weighting."""
    out: dict[int, float] = {}
    rest = list(candidates)
    left = min(n, len(rest))
    while rest and left > 0:
        total = sum(w for _i, w in rest)
        certain = [(pk, w) for pk, w in rest if left * w / total >= 1]
        if not certain:
            out.update({pk: left * w / total for pk, w in rest})
            return out
        out.update(dict.fromkeys((pk for pk, _w in certain), 1.0))
        rest = [(pk, w) for pk, w in rest if pk not in out]
        left -= len(certain)
    out.update(dict.fromkeys((pk for pk, _w in rest), 0.0))
    return out


def draw(candidates: Sequence[tuple[int, float]], *, n: int, seed: int) -> list[Drawn]:
    """The `n` candidates (id, weight > 0) with the largest Efraimidis–Spirakis keys, highest
    key first. Candidates are keyed in id order whatever order they come in."""
    ordered = sorted(candidates)
    rng = random.Random(seed)
    probabilities = inclusion_probabilities(ordered, n=n)
    keyed = []
    for pk, weight in ordered:
        if weight <= 0:
            raise ValueError("weight")
        u = 1.0 - rng.random()  # in (0, 1]: log is defined
        keyed.append((math.log(u) / weight, pk, weight))
    keyed.sort(key=lambda t: (-t[0], t[1]))
    return [
        Drawn(id=pk, weight=weight, key=key, inclusion=probabilities[pk]) for key, pk, weight in keyed[:n]
    ]


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion `p` observed on `n` (which may be an effective,
    non-integer size); (0, 1) for n = 0."""
    if n <= 0:
        return 0.0, 1.0
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Estimate:
    checked: int
    failed: int
    raw_share: float | None  # failed / checked: the sample's own share
    share: float | None  # the day's estimate (Hájek when weighted)
    low: float | None
    high: float | None
    effective_n: float
    weighted: bool


def estimate(rows: Sequence[tuple[bool, float]], *, weighted: bool) -> Estimate:
    """The day's failed share from the checked lines (failed, inclusion probability): the plain
    share and Wilson interval for a simple random sample; for a weighted one the Hájek estimate
    with the interval at Kish's effective size (see the module's docstring)."""
    n = len(rows)
    failed = sum(1 for f, _p in rows if f)
    if n == 0:
        return Estimate(0, 0, None, None, None, None, 0.0, weighted)
    raw = failed / n
    if not weighted:
        low, high = wilson(raw, n)
        return Estimate(n, failed, raw, raw, low, high, float(n), weighted)
    d = [1.0 / p for _f, p in rows]
    total = sum(d)
    share = sum(di for (f, _p), di in zip(rows, d, strict=True) if f) / total
    n_eff = total * total / sum(di * di for di in d)
    low, high = wilson(share, n_eff)
    return Estimate(n, failed, raw, share, low, high, n_eff, weighted)
