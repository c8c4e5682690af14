"""The weekly and monthly reports by email (S3): sent through the outbox to a real SMTP
server on 127.0.0.1; the warehouse's report to managers, each merchant's own to its contacts,
once per period and recipient, nothing (and a log line) for a merchant without a contact."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from orderguard.analysis import delivery
from orderguard.analysis.delivery import kinds_due, reports_due_send, reports_send
from orderguard.analysis.tests.handmade import make_history
from orderguard.cli import main
from orderguard.core import clock
from orderguard.notifications.models import (
    MerchantContact,
    NotificationChannel,
    OutboxAttachment,
    OutboxMessage,
)
from orderguard.notifications.services import outbox_dispatch
from orderguard.notifications.testing.servers import SmtpServer
from orderguard.tenancy.models import Merchant
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role
from orderguard.web.models import UserPreference

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")
# Monday 23 November, 08:00 in the warehouse: last week is the hand-made history's week
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=BJ)


@pytest.fixture
def smtp(settings) -> Iterator[SmtpServer]:  # type: ignore[no-untyped-def]
    """The default email (Django's EMAIL_* settings) pointed at a real SMTP server."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.OG_PUBLIC_URL = "https://og.warehouse.example"
        yield server


@pytest.fixture
def world(smtp: SmtpServer) -> dict[str, object]:
    """The hand-made history; a manager with an email, one without, an agent (no reports);
    hand-a with a report contact on an SMTP endpoint, hand-b with its contact email only, and
    hand-c with neither. The history's stock-out notice to hand-a is not a report: it is left
    out of the outbox."""
    make_history()
    OutboxMessage.objects.filter(topic="stockout_notice").delete()
    boss = user_with_role("manager", username="boss", email="boss@warehouse.example")
    user_with_role("manager", username="mailless", email="")
    user_with_role("cs_agent", username="agent", email="agent@warehouse.example")
    endpoint = NotificationChannel.objects.create(kind="email", name="smtp", config=smtp.config())
    a = Merchant.objects.get(code="hand-a")
    MerchantContact.objects.create(
        merchant=a, topic="report", channel=endpoint, address="reports@hand-a.example", language="zh-hans"
    )
    MerchantContact.objects.create(
        merchant=a, topic="stockout_notice", channel=endpoint, address="stock@hand-a.example"
    )
    MerchantFactory(code="hand-c", name="丙商家", contact_email="")
    return {"boss": boss, "endpoint": endpoint}


def _mails(server: SmtpServer, now: datetime = MONDAY) -> dict[str, object]:
    assert outbox_dispatch(now=now).failed == 0
    return {m.rcpt_tos[0]: m for m in server.messages}


def _subject(mail) -> str:  # type: ignore[no-untyped-def]
    """The subject as read (a long encoded subject is folded after "Subject:")."""
    return str(mail.message["Subject"]).strip()


def _body(mail) -> str:  # type: ignore[no-untyped-def]
    return mail.message.get_body(preferencelist=("plain",)).get_content()


def _files(mail) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return {part.get_filename(): part.get_content() for part in mail.message.iter_attachments()}


def _pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def _xlsx_text(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data))
    return " ".join(str(c.value) for sheet in book for row in sheet.iter_rows() for c in row)


def test_a_manager_receives_the_warehouses_weekly_report_with_the_pdf_and_xlsx(world, smtp):
    [result] = reports_due_send(now=MONDAY)

    assert (result.kind, result.period.first.isoformat(), result.period.last.isoformat()) == (
        "weekly",
        "2026-11-16",
        "2026-11-22",
    )
    mails = _mails(smtp)
    assert set(mails) == {"boss@warehouse.example", "reports@hand-a.example", "ops@hand-b.example"}
    boss = mails["boss@warehouse.example"]
    assert _subject(boss) == "全仓 异常订单报表 2026-11-16 — 2026-11-22"
    body = _body(boss)
    assert "新增 5 件（上一时段 2 件），关闭 4 件，成功率 50.0%。" in body
    assert "环节按时率 60.0%（3 / 5）。" in body
    assert "https://og.warehouse.example/reports/?from=2026-11-16&to=2026-11-22" in body
    files = _files(boss)
    assert set(files) == {"report-all-2026-11-16-2026-11-22.pdf", "report-all-2026-11-16-2026-11-22.xlsx"}
    text = _pdf_text(files["report-all-2026-11-16-2026-11-22.pdf"])
    assert "分析报表：全仓 2026-11-16 — 2026-11-22" in text
    assert "甲商家 3 3 2 66.7% 9.2 小时" in text and "乙商家 2 1 0 0.0% 30 分钟" in text


def test_each_merchants_email_holds_its_own_figures_only(world, smtp):
    reports_send(kind="weekly", now=MONDAY)

    mails = _mails(smtp)
    a, b = mails["reports@hand-a.example"], mails["ops@hand-b.example"]
    assert _subject(a) == "甲商家 异常订单报表 2026-11-16 — 2026-11-22"
    assert "新增 3 件（上一时段 1 件），关闭 3 件，成功率 66.7%。" in _body(a)
    assert "merchant=hand-a" in _body(a)
    assert "新增 2 件（上一时段 1 件），关闭 1 件，成功率 0.0%。" in _body(b)
    a_files, b_files = _files(a), _files(b)
    a_pdf = _pdf_text(a_files["report-hand-a-2026-11-16-2026-11-22.pdf"])
    b_pdf = _pdf_text(b_files["report-hand-b-2026-11-16-2026-11-22.pdf"])
    a_xlsx = _xlsx_text(a_files["report-hand-a-2026-11-16-2026-11-22.xlsx"])
    b_xlsx = _xlsx_text(b_files["report-hand-b-2026-11-16-2026-11-22.xlsx"])
    assert "甲天猫 2 2 1 50.0% 1.8 小时" in a_pdf and "甲商家" in a_xlsx
    assert "乙抖音 2 1 0 0.0% 30 分钟" in b_pdf and "乙商家" in b_xlsx
    for other in ("乙商家", "乙抖音", "hand-b", "上海市"):
        assert other not in a_pdf and other not in a_xlsx and other not in _body(a)
    for other in ("甲商家", "甲天猫", "甲京东", "hand-a", "浙江省", "ann", "bob"):
        assert other not in b_pdf and other not in b_xlsx and other not in _body(b)
    # hand-a's report goes to its report contact, not to its stock-out contact or contact email
    assert "stock@hand-a.example" not in mails and "ops@hand-a.example" not in mails


def test_running_twice_sends_each_recipient_one_report(world, smtp):
    first = reports_due_send(now=MONDAY)
    again = reports_due_send(now=MONDAY.replace(hour=11))

    assert (first[0].queued, again[0].queued, again[0].already) == (3, 0, 3)
    assert len(_mails(smtp)) == 3 and len(smtp.messages) == 3


def test_two_runs_that_both_missed_the_other_queue_each_recipient_once(world, smtp, monkeypatch):
    reports_send(kind="weekly", now=MONDAY)
    # a second worker that checked before the first one's rows were written
    monkeypatch.setattr(delivery, "queued_keys", lambda keys: set())

    late = reports_send(kind="weekly", now=MONDAY)

    assert late.queued == 0
    assert OutboxMessage.objects.filter(topic="report").count() == 3
    assert OutboxAttachment.objects.count() == 6
    assert len(_mails(smtp)) == 3


def test_a_merchant_without_a_contact_gets_nothing_and_it_is_logged(world, smtp, caplog):
    with caplog.at_level(logging.WARNING, logger="orderguard.analysis.delivery"):
        result = reports_send(kind="weekly", now=MONDAY)

    assert result.without_contact == ["hand-c"]
    assert not OutboxMessage.objects.filter(merchant__code="hand-c").exists()
    assert any("hand-c" in r.getMessage() and "no report contact" in r.getMessage() for r in caplog.records)


def test_a_merchant_whose_report_contacts_are_disabled_has_opted_out(world, smtp):
    MerchantContact.objects.filter(merchant__code="hand-a", topic="report").update(enabled=False)

    result = reports_send(kind="weekly", now=MONDAY)

    assert result.opted_out == ["hand-a"]
    assert set(_mails(smtp)) == {"boss@warehouse.example", "ops@hand-b.example"}


def test_the_report_speaks_each_readers_language(world, smtp):
    UserPreference.objects.create(user=world["boss"], language="en")
    MerchantContact.objects.filter(merchant__code="hand-a", topic="report").update(language="zh-hant")

    reports_send(kind="weekly", now=MONDAY)

    mails = _mails(smtp)
    boss = mails["boss@warehouse.example"]
    assert _subject(boss) == "Exception report Whole warehouse 2026-11-16 — 2026-11-22"
    assert "Whole warehouse" in _pdf_text(_files(boss)["report-all-2026-11-16-2026-11-22.pdf"])
    a = mails["reports@hand-a.example"]
    assert _subject(a).startswith("甲商家 異常訂單報表")
    assert b"/MSung-Light" in _files(a)["report-hand-a-2026-11-16-2026-11-22.pdf"]


@pytest.mark.parametrize(
    ("moment", "due"),
    [
        (datetime(2026, 11, 22, 23, 0, tzinfo=BJ), []),  # Sunday night
        (datetime(2026, 11, 23, 6, 59, tzinfo=BJ), []),  # Monday before 07:00
        (datetime(2026, 11, 23, 7, 0, tzinfo=BJ), ["weekly"]),
        (datetime(2026, 11, 22, 23, 30, tzinfo=ZoneInfo("UTC")), ["weekly"]),  # 07:30 in Shanghai
        (datetime(2026, 12, 1, 9, 0, tzinfo=BJ), ["weekly", "monthly"]),  # a Tuesday, the 1st
        (datetime(2027, 2, 1, 7, 0, tzinfo=BJ), ["weekly", "monthly"]),  # a Monday, the 1st
        # a report whose day passed with every worker down is still due two days later
        (datetime(2026, 11, 25, 0, 10, tzinfo=BJ), ["weekly"]),  # Wednesday just after midnight
        (datetime(2026, 11, 26, 9, 0, tzinfo=BJ), []),  # Thursday
        (datetime(2026, 12, 3, 9, 0, tzinfo=BJ), ["monthly"]),  # Thursday the 3rd
        (datetime(2026, 12, 4, 9, 0, tzinfo=BJ), []),
    ],
)
def test_reports_are_due_on_mondays_and_the_first_in_local_time(moment, due):
    assert kinds_due(moment) == due


def test_the_monthly_report_covers_last_month(world, smtp):
    first = datetime(2026, 12, 1, 8, 0, tzinfo=BJ)
    result = reports_send(kind="monthly", now=first)

    assert (result.period.first.isoformat(), result.period.last.isoformat()) == ("2026-11-01", "2026-11-30")
    boss = _mails(smtp, first)["boss@warehouse.example"]
    assert _subject(boss) == "全仓 异常订单报表 2026-11-01 — 2026-11-30"
    # the month holds the week before too: p1 and p2
    assert "新增 7 件" in _body(boss)


def test_the_command_lists_the_recipients_on_a_dry_run_and_sends_by_hand(world, smtp, monkeypatch, capsys):
    monkeypatch.setattr(clock, "now", lambda: MONDAY)

    code = main(["reports", "send", "--period", "last-week", "--dry-run", "--json"])
    dry = json.loads(capsys.readouterr().out)

    assert code == 0
    assert (dry["from"], dry["to"], dry["queued"], dry["without_contact"]) == (
        "2026-11-16",
        "2026-11-22",
        0,
        ["hand-c"],
    )
    assert [r["address"] for r in dry["recipients"]] == [
        "boss@warehouse.example",
        "reports@hand-a.example",
        "ops@hand-b.example",
    ]
    assert not OutboxMessage.objects.exists()
    assert main(["reports", "send", "--period", "last-week", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["queued"] == 3
    assert len(_mails(smtp)) == 3


def test_the_hourly_task_sends_on_monday_morning_only(world, smtp, monkeypatch):
    from orderguard.analysis.tasks import reports_deliver_periodic

    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 11, 23, 6, 0, tzinfo=BJ))  # Monday 06:00
    reports_deliver_periodic.call_local()
    assert not OutboxMessage.objects.exists()

    monkeypatch.setattr(clock, "now", lambda: MONDAY)
    reports_deliver_periodic.call_local()
    reports_deliver_periodic.call_local()
    # Tuesday's runs find everyone served
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 11, 24, 9, 0, tzinfo=BJ))
    reports_deliver_periodic.call_local()

    assert sorted(OutboxMessage.objects.values_list("idempotency_key", flat=True)) == sorted(
        [
            f"report:weekly:2026-11-16:u{world['boss'].pk}",
            *(
                f"report:weekly:2026-11-16:m{c.merchant_id}:c{c.pk}"
                for c in MerchantContact.objects.filter(topic="report")
            ),
            f"report:weekly:2026-11-16:m{Merchant.objects.get(code='hand-b').pk}",
        ]
    )


def test_a_contact_that_chose_the_monthly_report_gets_no_weekly_one(world, smtp):
    MerchantContact.objects.filter(merchant__code="hand-a", topic="report").update(reports="monthly")
    first = datetime(2026, 12, 1, 8, 0, tzinfo=BJ)

    weekly = reports_send(kind="weekly", now=MONDAY)
    monthly = reports_send(kind="monthly", now=first)

    assert weekly.opted_out == ["hand-a"] and monthly.opted_out == []
    assert "reports@hand-a.example" not in _mails(smtp)
    assert "reports@hand-a.example" in _mails(smtp, first)


def test_a_weekly_report_missed_on_monday_is_sent_on_tuesday_once(world, smtp, monkeypatch):
    from orderguard.analysis.tasks import reports_deliver_periodic

    tuesday = datetime(2026, 11, 24, 9, 0, tzinfo=BJ)
    monkeypatch.setattr(clock, "now", lambda: tuesday)  # every worker was down on Monday
    reports_deliver_periodic.call_local()
    monkeypatch.setattr(clock, "now", lambda: tuesday.replace(hour=10))
    reports_deliver_periodic.call_local()

    mails = _mails(smtp, tuesday)
    assert set(mails) == {"boss@warehouse.example", "reports@hand-a.example", "ops@hand-b.example"}
    assert len(smtp.messages) == 3
    assert _subject(mails["boss@warehouse.example"]) == "全仓 异常订单报表 2026-11-16 — 2026-11-22"
    # on Thursday it is too late: a manager who joined since is not sent last week's report
    user_with_role("manager", username="newcomer", email="newcomer@warehouse.example")
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 11, 26, 9, 0, tzinfo=BJ))
    reports_deliver_periodic.call_local()
    assert OutboxMessage.objects.filter(topic="report").count() == 3
