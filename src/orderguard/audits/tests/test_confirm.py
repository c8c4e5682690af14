"""D4: a person confirms or overrides each checklist item; a failed item opens a case (source
D4) or joins the order's open case of that type, and the line links to it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from orderguard.audits.errors import AuditRefused
from orderguard.audits.models import AuditLine, AuditPlan
from orderguard.audits.selectors import audit_summaries
from orderguard.audits.services import audit_draw, audit_line_confirm
from orderguard.audits.tests.factories import audit_order
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.core.errors import NotFound
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
PAID = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
ALL_PASS = {"address": {"result": "pass"}, "recipient": {"result": "pass"}, "items": {"result": "pass"}}


@pytest.fixture
def drawn():  # type: ignore[no-untyped-def]
    channel = ChannelFactory()
    tidy = audit_order(channel, paid_at=PAID)
    vague = audit_order(channel, paid_at=PAID + timedelta(minutes=1), vague=True)
    AuditPlan.objects.create(warehouse=channel.warehouse, share_percent=Decimal("100"), risk_weighting=False)
    audit = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=1).audit
    lines = {line.order_id: line for line in audit.lines.all()}
    return {"audit": audit, "tidy": lines[tidy.pk], "vague": lines[vague.pk]}


def test_accepting_a_failed_proposal_opens_a_d4_case_linked_to_the_line(drawn):
    manager = actor_for(user_with_role("manager", username="lin"))
    line = drawn["vague"]

    result = audit_line_confirm(
        line_id=line.pk,
        actor=manager,
        items={**ALL_PASS, "address": {"result": "fail", "note": "只写了西湖边"}},
        now=NOW,
    )

    case = ExceptionCase.objects.get()
    line.refresh_from_db()
    assert (case.type, case.source, case.status, case.order_id) == ("T2", "D4", "open", line.order_id)
    assert case.findings == [
        {
            "code": "AUDIT_FAILED",
            "type": "T2",
            "field": "address",
            "severity": "blocking",
            "source": "D4",
            "data": {"reason": "address", "day": "2026-11-20", "audit": line.audit_id, "line": line.pk},
        }
    ]
    assert [(c.pk, opened) for c, opened in result.cases] == [(case.pk, True)]
    assert list(line.cases.values_list("pk", flat=True)) == [case.pk]
    assert (line.status, line.confirmed_by_label) == ("failed", "user:lin")
    assert line.items["address"] == {"result": "fail", "note": "只写了西湖边", "proposed": "fail"}
    assert [(e.type, e.actor_label) for e in CaseEvent.objects.filter(case=case)] == [
        ("opened", "user:lin"),
        ("audited", "user:lin"),
    ]
    audited = CaseEvent.objects.get(case=case, type="audited")
    assert audited.data["items"] == {
        "address": {"result": "fail", "note": "只写了西湖边", "proposed": "fail"}
    }
    assert audited.data["opened"] is True


def test_a_failed_item_joins_the_open_case_of_its_type_instead_of_a_second_one(drawn):
    line = drawn["tidy"]
    existing = ExceptionCase.objects.create(
        merchant=line.merchant, order=line.order, type="T3", source="D2", opened_at=NOW, findings=[]
    )
    agent = actor_for(user_with_role("cs_agent"))

    audit_line_confirm(
        line_id=line.pk,
        actor=agent,
        items={**ALL_PASS, "items": {"result": "fail", "note": "平台是红色，库存只有蓝色"}},
        now=NOW,
    )

    assert list(ExceptionCase.objects.values_list("pk", "type", "source")) == [(existing.pk, "T3", "D2")]
    existing.refresh_from_db()
    assert [f["code"] for f in existing.findings] == ["AUDIT_FAILED"]
    assert [e.type for e in CaseEvent.objects.filter(case=existing)] == ["findings_changed", "audited"]
    assert list(AuditLine.objects.get(pk=line.pk).cases.values_list("pk", flat=True)) == [existing.pk]


def test_overriding_a_proposal_needs_a_note_and_a_refusal_writes_nothing(drawn):
    line = drawn["vague"]
    manager = actor_for(user_with_role("manager"))

    with pytest.raises(AuditRefused) as refused:
        audit_line_confirm(line_id=line.pk, actor=manager, items=ALL_PASS, now=NOW)

    assert (refused.value.code, refused.value.field) == ("NOTE_REQUIRED", "items.address")
    line.refresh_from_db()
    assert (line.status, line.confirmed_at, line.items) == ("pending", None, {})
    assert ExceptionCase.objects.count() == 0 == CaseEvent.objects.count()


@pytest.mark.parametrize(
    ("items", "code", "field"),
    [
        ({"address": {"result": "pass"}}, "ITEM_MISSING", "items.recipient"),
        ({**ALL_PASS, "items": {"result": "maybe"}}, "RESULT_INVALID", "items.items"),
        ({**ALL_PASS, "colour": {"result": "pass"}}, "ITEM_MISSING", "items.colour"),
    ],
)
def test_bad_checklists_are_refused_naming_the_item(drawn, items, code, field):
    line = drawn["tidy"]
    with pytest.raises(AuditRefused) as refused:
        audit_line_confirm(line_id=line.pk, actor=actor_for(user_with_role("operator")), items=items, now=NOW)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert AuditLine.objects.get(pk=line.pk).status == "pending"


def test_confirming_a_line_twice_is_refused_and_changes_nothing(drawn):
    line = drawn["tidy"]
    operator = actor_for(user_with_role("operator", username="wu"))
    audit_line_confirm(line_id=line.pk, actor=operator, items=ALL_PASS, now=NOW)

    with pytest.raises(AuditRefused) as refused:
        audit_line_confirm(
            line_id=line.pk,
            actor=actor_for(user_with_role("manager")),
            items={**ALL_PASS, "address": {"result": "fail", "note": "x"}},
            now=NOW + timedelta(minutes=5),
        )

    assert refused.value.code == "LINE_CONFIRMED"
    line.refresh_from_db()
    assert (line.status, line.confirmed_by_label, line.confirmed_at) == ("passed", "user:wu", NOW)
    assert ExceptionCase.objects.count() == 0


def test_merchant_users_see_no_audit_line_and_tech_oncall_may_not_confirm(drawn):
    line = drawn["tidy"]
    with pytest.raises(NotFound):
        audit_line_confirm(
            line_id=line.pk,
            actor=actor_for(user_with_role("merchant", merchant=line.merchant)),
            items=ALL_PASS,
            now=NOW,
        )
    with pytest.raises(AuditRefused) as refused:
        audit_line_confirm(
            line_id=line.pk, actor=actor_for(user_with_role("tech_oncall")), items=ALL_PASS, now=NOW
        )
    assert refused.value.code == "ROLE"
    assert AuditLine.objects.get(pk=line.pk).status == "pending"


def test_the_days_estimate_counts_the_confirmed_lines(drawn):
    manager = actor_for(user_with_role("manager"))
    audit_line_confirm(
        line_id=drawn["vague"].pk,
        actor=manager,
        items={**ALL_PASS, "address": {"result": "fail", "note": ""}},
        now=NOW,
    )
    [summary] = audit_summaries([drawn["audit"]])
    assert (summary.pending, summary.estimate.checked, summary.estimate.failed, summary.estimate.share) == (
        1,
        1,
        1,
        1.0,
    )
    audit_line_confirm(line_id=drawn["tidy"].pk, actor=manager, items=ALL_PASS, now=NOW)
    [summary] = audit_summaries([drawn["audit"]])
    assert (summary.pending, summary.estimate.checked, summary.estimate.failed, summary.estimate.share) == (
        0,
        2,
        1,
        0.5,
    )
    assert (round(summary.estimate.low, 4), round(summary.estimate.high, 4)) == (0.0945, 0.9055)
