"""D3 monitoring with a clock under control: a channel that stops at its busy hour, one quiet at
night, channels answering errors or slowing down, OrderGuard's own components, folding,
clearing and the 30-minute triage escalation (T4, S1)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from orderguard.cases.choices import CaseEventType
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.incidents.models import (
    ChannelHealth,
    Incident,
    IncidentEvent,
    IncidentKind,
    IncidentStatus,
)
from orderguard.incidents.monitor import monitoring_run
from orderguard.incidents.services import TOPIC_ONCALL, incident_acknowledge, incidents_escalate
from orderguard.incidents.tests.helpers import BUSY, busy_history, orders_paid
from orderguard.intake.models import ImportBatch, WebhookDelivery
from orderguard.monitoring.models import WorkerHeartbeat
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
PLENTY = 50 * 1024**3  # free disk bytes: healthy


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    channel = ChannelFactory(code="tb-yoyo")
    busy_history(channel)
    return channel


@pytest.fixture
def oncall():  # type: ignore[no-untyped-def]
    return user_with_role("tech_oncall", username="oncall", email="oncall@wh.example")


def run(at):  # type: ignore[no-untyped-def]
    """The periodic job at `at`, with a worker that beat just then."""
    WorkerHeartbeat.objects.update_or_create(worker="w:1", defaults={"beat_at": at})
    return monitoring_run(now=at, disk_free_bytes=PLENTY)


def test_a_channel_that_stops_at_its_busy_hour_opens_an_incident_within_minutes(shop, oncall):
    # orders every minute today until 14:00, then nothing
    orders_paid(shop, BUSY - timedelta(hours=1), BUSY + timedelta(seconds=1), timedelta(minutes=1), "T-")

    quiet_3 = run(BUSY + timedelta(minutes=3))
    assert quiet_3.opened == []
    assert ChannelHealth.objects.get(channel=shop).state == "ok"

    result = run(BUSY + timedelta(minutes=6))

    assert [(i.kind, i.channel_id, i.severity) for i in result.opened] == [
        (IncidentKind.CHANNEL_SILENT, shop.pk, "critical")
    ]
    incident = result.opened[0]
    assert incident.started_at == BUSY
    assert incident.due_at == BUSY + timedelta(minutes=36)  # T4 triage: 30 minutes
    assert list(incident.merchants.values_list("pk", flat=True)) == [shop.merchant_id]
    health = ChannelHealth.objects.get(channel=shop)
    assert health.state == "silent"
    assert health.data["expected_per_15"] == 15.0
    assert health.data["gap_minutes"] == 6.0
    alarm = OutboxMessage.objects.get(topic=TOPIC_ONCALL)
    assert alarm.recipient == "oncall@wh.example"
    assert alarm.subject == "【新故障·严重】渠道 tb-yoyo 停止来单"
    assert alarm.idempotency_key == f"incident:{incident.pk}:opened:u{oncall.pk}"


def test_repeated_signals_fold_into_the_open_incident_and_alarm_once(shop, oncall):
    orders_paid(shop, BUSY - timedelta(hours=1), BUSY, timedelta(minutes=1), "T-")
    run(BUSY + timedelta(minutes=6))
    second = run(BUSY + timedelta(minutes=7))
    run(BUSY + timedelta(minutes=8))

    assert second.opened == []
    incident = Incident.objects.get()
    assert incident.signal_count == 3
    assert OutboxMessage.objects.filter(topic=TOPIC_ONCALL).count() == 1
    assert list(incident.events.values_list("type", flat=True)) == ["opened"]


def test_a_channel_quiet_at_night_is_not_an_incident(shop, oncall):
    # history: one order at 03:10 on past Wednesdays; tonight nothing since yesterday 16:00
    orders_paid(
        shop,
        BUSY - timedelta(days=1),
        BUSY - timedelta(days=1) + timedelta(hours=2),
        timedelta(minutes=1),
        "Y-",
    )
    night = BUSY - timedelta(hours=10, minutes=30)  # 03:30

    result = run(night)

    assert result.opened == []
    assert Incident.objects.count() == 0
    health = ChannelHealth.objects.get(channel=shop)
    assert health.state == "quiet"
    assert health.data["window_expected"] == 1.0


def test_a_channel_with_too_little_history_is_not_judged(oncall):
    young = ChannelFactory(code="new-shop")
    busy_history(young, weeks=1)

    result = run(BUSY + timedelta(minutes=30))

    assert result.opened == []
    assert ChannelHealth.objects.get(channel=young).state == "not_judged"


def test_a_channel_that_slows_down_is_an_incident(shop, oncall):
    # today one order every five minutes where the history has one a minute
    orders_paid(shop, BUSY - timedelta(hours=1), BUSY + timedelta(minutes=1), timedelta(minutes=5), "S-")

    result = run(BUSY + timedelta(minutes=3))

    assert [(i.kind, i.severity) for i in result.opened] == [(IncidentKind.CHANNEL_SLOW, "major")]
    health = ChannelHealth.objects.get(channel=shop).data
    assert (health["window_observed"], health["window_expected"]) == (12, 60.0)


def test_imports_and_webhooks_that_answer_errors_are_incidents(oncall):
    pulled = ChannelFactory(code="jd-pull")
    pushed = ChannelFactory(code="sp-push")
    at = BUSY
    for i, status in enumerate(["failed", "failed", "failed", "done"]):
        ImportBatch.objects.create(
            kind="orders",
            channel=pulled,
            merchant=pulled.merchant,
            status=status,
            started_at=at - timedelta(minutes=i + 1),
        )
    for i, status in enumerate(["with_errors", "with_errors", "with_errors", "processed", "processed"]):
        WebhookDelivery.objects.create(
            channel=pushed,
            delivery_id=f"d{i}",
            received_at=at - timedelta(minutes=i + 1),
            status=status,
            body_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
        )

    result = run(at)

    assert sorted((i.channel.code, i.kind) for i in result.opened) == [
        ("jd-pull", IncidentKind.IMPORT_ERRORS),
        ("sp-push", IncidentKind.WEBHOOK_ERRORS),
    ]
    assert Incident.objects.get(channel=pulled).detail == "最近 30 分钟 4 次导入中 3 次失败"
    assert ChannelHealth.objects.get(channel=pushed).data["webhooks_failed"] == 3
    assert ChannelHealth.objects.get(channel=pulled).state == "errors"


def test_two_failed_imports_out_of_two_are_below_the_minimum_count(oncall):
    pulled = ChannelFactory(code="jd-pull")
    for i in range(2):
        ImportBatch.objects.create(
            kind="orders",
            channel=pulled,
            merchant=pulled.merchant,
            status="failed",
            started_at=BUSY - timedelta(minutes=i + 1),
        )
    assert run(BUSY).opened == []


def test_orderguards_own_outbox_backlog_and_disk_are_watched(oncall):
    OutboxMessage.objects.create(
        topic="report",
        recipient="a@b.example",
        subject="s",
        body="b",
        idempotency_key="old",
        next_attempt_at=BUSY - timedelta(minutes=20),
    )

    WorkerHeartbeat.objects.create(worker="w:1", beat_at=BUSY - timedelta(minutes=5))
    result = monitoring_run(now=BUSY, disk_free_bytes=100 * 1024**2)

    assert sorted((i.kind, i.detail) for i in result.opened) == [
        (IncidentKind.DISK, "100 MiB free (minimum 1024 MiB)"),
        (IncidentKind.OUTBOX_BACKLOG, "oldest due message 1200s old (limit 900s)"),
        (IncidentKind.WORKER, "last heartbeat 300s ago from w:1"),
    ]
    assert {c.name: c.ok for c in result.components} == {
        "database": True,
        "queue": True,
        "worker": False,
        "outbox": False,
        "disk": False,
    }


def test_a_fault_no_longer_seen_is_marked_cleared_once_and_stays_for_a_person(shop, oncall):
    orders_paid(shop, BUSY - timedelta(hours=1), BUSY, timedelta(minutes=1), "T-")
    run(BUSY + timedelta(minutes=6))
    # the channel comes back: the orders paid during the gap arrive
    orders_paid(shop, BUSY + timedelta(minutes=1), BUSY + timedelta(minutes=10), timedelta(minutes=1), "B-")

    result = run(BUSY + timedelta(minutes=10))
    run(BUSY + timedelta(minutes=11))

    incident = Incident.objects.get()
    assert result.cleared == 1
    assert incident.status == IncidentStatus.OPEN
    assert incident.cleared_at == BUSY + timedelta(minutes=10)
    assert list(incident.events.values_list("type", flat=True)) == ["opened", "cleared", "orders_linked"]
    # the orders paid in the fault window are linked, each with a T4 case from monitoring (D3)
    linked = sorted(incident.orders.values_list("platform_order_id", flat=True))
    assert linked == [f"B-{n:05d}" for n in range(9)]
    cases = ExceptionCase.objects.filter(order__incidents=incident)
    assert cases.count() == len(linked)
    assert set(cases.values_list("type", "source", "step")) == {("T4", "D3", "triage")}
    assert CaseEvent.objects.filter(case__in=cases, type=CaseEventType.INCIDENT).count() == len(linked)


def test_an_unacknowledged_incident_escalates_once_per_level_after_30_minutes(shop, oncall):
    manager = user_with_role("manager", username="boss", email="boss@wh.example")
    orders_paid(shop, BUSY - timedelta(hours=1), BUSY, timedelta(minutes=1), "T-")
    run(BUSY + timedelta(minutes=6))
    incident = Incident.objects.get()

    assert incidents_escalate(now=BUSY + timedelta(minutes=35)) == 0
    assert incidents_escalate(now=BUSY + timedelta(minutes=36)) == 1
    assert incidents_escalate(now=BUSY + timedelta(minutes=37)) == 0  # a second worker: nothing
    incident.refresh_from_db()
    assert (incident.escalation_level, incident.escalation_next_at) == (1, BUSY + timedelta(minutes=96))
    sent = sorted(
        OutboxMessage.objects.filter(idempotency_key__contains=":escalated:").values_list(
            "recipient", flat=True
        )
    )
    assert sent == ["boss@wh.example", "oncall@wh.example"]

    assert incidents_escalate(now=BUSY + timedelta(minutes=96)) == 1
    incident.refresh_from_db()
    assert (incident.escalation_level, incident.escalation_next_at) == (2, None)
    assert OutboxMessage.objects.filter(idempotency_key__contains=":escalated:2:").count() == 1
    assert manager.pk in [
        int(k.split(":u")[1])
        for k in OutboxMessage.objects.filter(idempotency_key__contains=":escalated:2:").values_list(
            "idempotency_key", flat=True
        )
    ]


def test_an_acknowledged_incident_does_not_escalate(shop, oncall):
    orders_paid(shop, BUSY - timedelta(hours=1), BUSY, timedelta(minutes=1), "T-")
    run(BUSY + timedelta(minutes=6))
    incident = Incident.objects.get()
    incident_acknowledge(incident_id=incident.pk, actor=actor_for(oncall), now=BUSY + timedelta(minutes=10))

    assert incidents_escalate(now=BUSY + timedelta(hours=3)) == 0
    assert IncidentEvent.objects.filter(incident=incident, type="escalated").count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_open_one_incident_and_escalate_each_level_once(oncall):
    import threading

    from django.db import connections

    shop = ChannelFactory(code="tb-yoyo")
    busy_history(shop)
    orders_paid(shop, BUSY - timedelta(hours=1), BUSY, timedelta(minutes=1), "T-")
    WorkerHeartbeat.objects.create(worker="w:1", beat_at=BUSY + timedelta(minutes=6))
    failures: list[BaseException] = []

    def twice(job):  # type: ignore[no-untyped-def]
        start = threading.Barrier(2)

        def run() -> None:
            try:
                start.wait()
                job()
            except BaseException as exc:
                failures.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    twice(lambda: monitoring_run(now=BUSY + timedelta(minutes=6), disk_free_bytes=PLENTY))
    twice(lambda: incidents_escalate(now=BUSY + timedelta(minutes=40)))

    assert failures == []
    incident = Incident.objects.get()
    assert (incident.kind, incident.escalation_level) == (IncidentKind.CHANNEL_SILENT, 1)
    assert OutboxMessage.objects.filter(idempotency_key__endswith=f":opened:u{oncall.pk}").count() == 1
    assert OutboxMessage.objects.filter(idempotency_key__contains=":escalated:1:").count() == 1
    assert IncidentEvent.objects.filter(incident=incident, type="escalated").count() == 1


def test_a_signal_that_loses_the_race_to_open_the_incident_folds_into_the_winner(shop, oncall):
    from orderguard.incidents.services import Signal, incident_signal
    from orderguard.sla.services import PolicyBook

    signal = Signal(kind="channel_silent", title="t", detail="d", channel_id=shop.pk, started_at=BUSY)

    class RacingBook(PolicyBook):
        """Another worker opens the same incident while this one reads its deadline."""

        def deadline(self, **kwargs):  # type: ignore[no-untyped-def]
            incident_signal(signal=signal, now=BUSY + timedelta(minutes=6))
            return super().deadline(**kwargs)

    incident, opened = incident_signal(signal=signal, now=BUSY + timedelta(minutes=6), policies=RacingBook())

    assert (opened, Incident.objects.get().pk, incident.signal_count) == (False, incident.pk, 2)
    assert Incident.objects.get().signal_count == 2
    assert OutboxMessage.objects.filter(topic=TOPIC_ONCALL).count() == 1
