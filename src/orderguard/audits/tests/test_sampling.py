"""D4/B5: the sample's statistics without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderguard.audits.sampling import draw, estimate, inclusion_probabilities, sample_size, wilson


def test_sample_size_is_the_share_within_minimum_maximum_and_population():
    assert sample_size(population=1000, share_percent=Decimal("5"), min_count=10, max_count=200) == 50
    assert sample_size(population=1001, share_percent=Decimal("5"), min_count=10, max_count=200) == 51
    assert sample_size(population=100, share_percent=Decimal("5"), min_count=10, max_count=200) == 10
    assert sample_size(population=8, share_percent=Decimal("5"), min_count=10, max_count=200) == 8
    assert sample_size(population=10000, share_percent=Decimal("5"), min_count=10, max_count=200) == 200
    assert sample_size(population=0, share_percent=Decimal("5"), min_count=10, max_count=200) == 0
    with pytest.raises(ValueError):
        sample_size(population=10, share_percent=Decimal("100.01"), min_count=1, max_count=2)


@given(
    weights=st.lists(st.floats(min_value=0.1, max_value=50), min_size=1, max_size=60),
    n=st.integers(min_value=0, max_value=60),
    seed=st.integers(min_value=0, max_value=2**62),
)
def test_a_draw_is_reproducible_without_replacement_and_ignores_the_input_order(weights, n, seed):
    candidates = [(i + 1, w) for i, w in enumerate(weights)]
    first = draw(candidates, n=n, seed=seed)
    again = draw(list(reversed(candidates)), n=n, seed=seed)

    assert first == again
    assert len(first) == min(n, len(candidates))
    assert len({d.id for d in first}) == len(first)
    assert all(0 < d.inclusion <= 1 for d in first)


def test_heavier_orders_are_drawn_more_often():
    # 1 heavy (weight 9) among 10: over many seeds it is drawn in a sample of 1 about half the time
    candidates = [(1, 9.0)] + [(i, 1.0) for i in range(2, 11)]
    hits = sum(draw(candidates, n=1, seed=s)[0].id == 1 for s in range(2000))
    assert 900 < hits < 1100


def test_wilson_interval_known_values():
    low, high = wilson(0.1, 100)
    assert (round(low, 4), round(high, 4)) == (0.0552, 0.1744)
    assert wilson(0.0, 0) == (0.0, 1.0)
    low, high = wilson(0.0, 20)
    assert (low, round(high, 4)) == (0.0, 0.1611)


def test_the_estimate_of_a_weighted_sample_is_corrected_for_the_weights():
    # two risky orders drawn surely (inclusion 1), both failed; eight calm ones each standing
    # for 10 orders (inclusion 0.1), one failed
    rows = [(True, 1.0)] * 2 + [(True, 0.1)] + [(False, 0.1)] * 7
    plain = estimate(rows, weighted=False)
    corrected = estimate(rows, weighted=True)

    assert (plain.checked, plain.failed, plain.share) == (10, 3, 0.3)
    assert corrected.raw_share == 0.3
    assert corrected.share == pytest.approx((2 + 10) / (2 + 80))
    assert corrected.effective_n == pytest.approx(82**2 / (2 + 800))
    assert corrected.low is not None and corrected.low < corrected.share < corrected.high
    assert estimate([], weighted=True).share is None


def test_inclusion_probabilities_cap_certain_orders_and_share_the_rest():
    # n = 2 of weights 8, 1, 1: the heavy one is certain, the other two share the second place
    assert inclusion_probabilities([(1, 8.0), (2, 1.0), (3, 1.0)], n=2) == {1: 1.0, 2: 0.5, 3: 0.5}
    # equal weights: n / N each
    assert inclusion_probabilities([(i, 1.0) for i in range(1, 5)], n=1) == dict.fromkeys(range(1, 5), 0.25)
    # everything drawn: certain
    assert inclusion_probabilities([(1, 3.4), (2, 1.4)], n=2) == {1: 1.0, 2: 1.0}
