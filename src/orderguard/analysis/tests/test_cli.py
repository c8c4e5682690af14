"""`orderguard analysis rebuild` (S3): recomputes a range of days, refuses bad dates."""

from __future__ import annotations

import json
from datetime import date

import pytest

from orderguard.analysis.models import DailyStat, RollupState
from orderguard.analysis.tests.handmade import make_history
from orderguard.cli import main

pytestmark = pytest.mark.django_db(transaction=False)


def run(capsys, *argv):  # type: ignore[no-untyped-def]
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_rebuild_of_a_range_and_of_everything(capsys):
    make_history()
    DailyStat.objects.all().delete()
    RollupState.objects.all().delete()

    code, one_day = run(capsys, "analysis", "rebuild", "--from", "2026-11-17", "--to", "2026-11-17", "--json")

    # Tuesday 17th: c3 closed (hand-a: total, source, channel, province, person, SKU and its two
    # steps = 8 rows), c4 opened and closed (hand-b: 7 rows), the warehouse's sums (two channels,
    # two people, two steps: 10 rows)
    assert (code, one_day) == (0, {"ok": True, "from": "2026-11-17", "to": "2026-11-17", "rows": 25})
    assert set(DailyStat.objects.values_list("day", flat=True)) == {date(2026, 11, 17)}
    assert not RollupState.objects.exists()
    code, everything = run(capsys, "analysis", "rebuild", "--json")
    assert (code, everything["from"], everything["to"]) == (0, "2026-11-09", "2026-11-18")
    assert RollupState.objects.get().last_event_id > 0


@pytest.mark.parametrize(
    "argv",
    [("--from", "2026-11-31"), ("--from", "2026-11-20", "--to", "2026-11-10")],
)
def test_bad_dates_are_refused(capsys, argv):
    code, body = run(capsys, "analysis", "rebuild", *argv, "--json")

    assert code == 2
    assert body["ok"] is False and body["error"]["code"] == "INVALID_INPUT"
    assert DailyStat.objects.count() == 0
