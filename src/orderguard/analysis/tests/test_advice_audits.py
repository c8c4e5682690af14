"""Audit results feed the advice (B5): merchants whose audited failed share is high over the
period, estimated as the audits do, ranked by the faulty orders it stands for; staff only."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.test import Client

from orderguard.analysis.advice import findings_build
from orderguard.analysis.periods import Period
from orderguard.analysis.selectors import Scope
from orderguard.audits.models import AuditLine, DailyAudit
from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.core import clock
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
MONTH = Period(first=date(2026, 11, 1), last=date(2026, 11, 30))


def _line(audit, channel, rank, status, inclusion, failed_items=()):  # type: ignore[no-untyped-def]
    items = {
        item: {"result": "fail" if item in failed_items else "pass", "note": ""}
        for item in ("address", "recipient", "items")
    }
    return AuditLine(
        audit=audit,
        order=OrderFactory(channel=channel),
        merchant=channel.merchant,
        rank=rank,
        weight=1.0,
        inclusion=inclusion,
        status=status,
        items=items if status != "pending" else {},
    )


@pytest.fixture
def audited():  # type: ignore[no-untyped-def]
    warehouse = WarehouseFactory(code="aud-wh")
    a, b, c = (ChannelFactory(code=f"aud-{x}", warehouse=warehouse) for x in "abc")

    def audit(day):  # type: ignore[no-untyped-def]
        return DailyAudit.objects.create(
            warehouse=warehouse,
            day=day,
            seed=1,
            weighted=True,
            population=100,
            planned=10,
            drawn=10,
            drawn_at=NOW,
            drawn_by_label="system:audit",
        )

    in_month, before = audit(date(2026, 11, 10)), audit(date(2026, 10, 20))
    lines = []
    rank = iter(range(1, 1000))
    # a: 10 checked, 4 failed (three on the address, one on the items), 2 still pending; each
    # line stands for 10 orders (inclusion 0.1)
    for i in range(10):
        failed = ("address",) if i < 3 else ("items",) if i == 3 else ()
        lines.append(_line(in_month, a, next(rank), "failed" if failed else "passed", 0.1, failed))
    lines += [_line(in_month, a, next(rank), "pending", 0.1) for _ in range(2)]
    # b: 10 checked, none failed this month; all failed the month before (outside the period)
    lines += [_line(in_month, b, next(rank), "passed", 0.1) for _ in range(10)]
    lines += [_line(before, b, next(rank), "failed", 0.1, ("recipient",)) for _ in range(10)]
    # c: 1 failed of 20: its interval reaches down to below 5 %
    lines += [_line(in_month, c, next(rank), "failed" if i == 0 else "passed", 0.5) for i in range(20)]
    AuditLine.objects.bulk_create(lines)
    return {"a": a.merchant, "b": b.merchant, "c": c.merchant}


def test_a_merchant_whose_audited_failed_share_is_high_is_a_finding(audited):
    found = [f for f in findings_build(scope=Scope(merchant=None), period=MONTH, audits=True)]

    # share 4/10 = 40 %, Wilson 95 % interval 16.8–68.7 %; the 12 drawn lines stand for 120
    # orders, so about 48 faulty ones; b (no failure this month) and c (1 of 20) are not listed
    assert found == [
        {
            "kind": "audit_failures",
            "subject": audited["a"].code,
            "merchant": audited["a"].code,
            "affected": 48,
            "checked": 10,
            "failed": 4,
            "share": 40.0,
            "low": 16.8,
            "high": 68.7,
            "items": {"address": 3, "items": 1},
        }
    ]


def test_a_merchants_report_has_only_its_own_audits_and_without_audits_none(audited):
    def kinds(merchant, audits=True):  # type: ignore[no-untyped-def]
        return [
            (f["kind"], f["subject"])
            for f in findings_build(scope=Scope(merchant=merchant), period=MONTH, audits=audits)
        ]

    assert kinds(audited["a"]) == [("audit_failures", audited["a"].code)]
    assert kinds(audited["b"]) == []
    assert kinds(audited["a"], audits=False) == []


def test_the_page_and_the_api_show_it_to_staff_and_not_to_merchant_users(audited, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    boss, merchant = Client(), Client()
    boss.force_login(user_with_role("manager", username="aud-boss"))
    merchant.force_login(user_with_role("merchant", merchant=audited["a"], username="aud-a"))

    page = boss.get("/reports/?from=2026-11-01&to=2026-11-30").content.decode()
    assert 'data-kind="audit_failures"' in page
    assert "抽检不合格率高（40.0%，95% 区间 16.8%–68.7%，抽检 10 单）" in page
    assert "与商家复核订单信息，不合格最多的一项：地址详细" in page
    api = boss.get("/api/v1/reports?from=2026-11-01&to=2026-11-30").json()["findings"]
    assert [(f["kind"], f["affected"]) for f in api] == [("audit_failures", 48)]

    own = merchant.get("/reports/?from=2026-11-01&to=2026-11-30").content.decode()
    assert 'data-kind="audit_failures"' not in own
    assert merchant.get("/api/v1/reports?from=2026-11-01&to=2026-11-30").json()["findings"] == []
