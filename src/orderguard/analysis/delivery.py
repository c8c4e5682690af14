"""The weekly and monthly reports by email (S3, S4).

- **weekly**: every Monday from `OG_REPORT_SEND_HOUR` (default 07:00, local `TIME_ZONE`), last
  week (Monday to Sunday); **monthly**: on the 1st from the same hour, last month. A report
  whose day passed with every worker down is sent on the next run within `CATCH_UP_DAYS` days
  (to those who have not had it).
- **who**: each active manager (role `manager`, with an email) gets the whole warehouse's report
  in the language they chose for the pages; each active merchant's report contacts
  (`MerchantContact`, topic `report`, in the contact's language) get that merchant's report
  only, or, without any report contact, the merchant's contact email in zh-Hans. A contact
  chooses the weekly report, the monthly one or both (`MerchantContact.reports`); a merchant
  whose report contacts are all disabled, or all chose the other report, has opted out of this
  one; a merchant with neither contacts nor a contact email gets nothing, which is logged.
- **what**: an outbox message (topic `report`) with the period and scope in the subject, the
  headline figures and the top findings in the body, a link to `/reports/` of the same query
  (prefixed with `OG_PUBLIC_URL`), and the PDF and the XLSX of the report attached.
- **once**: each message's idempotency key names the kind, the period's first day and the
  recipient (`report:weekly:2026-11-16:u<user>` / `:m<merchant>:c<contact>` / `:m<merchant>`).
  The outbox's unique key makes a second run, or two workers at once, queue nothing more; a run
  first drops the recipients already queued, so it builds no report for them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from orderguard.analysis.actions import actions_with_effect
from orderguard.analysis.advice import findings_build
from orderguard.analysis.export import XLSX_TYPE, report_xlsx
from orderguard.analysis.pdf import finding_advice, finding_text, report_pdf, report_title
from orderguard.analysis.periods import Period, period_preset
from orderguard.analysis.selectors import Scope, report_build, report_is_empty
from orderguard.analysis.wording import percent
from orderguard.notifications.channels.base import Attachment
from orderguard.notifications.models import MerchantContact, OutboxMessage, ReportKinds, Topic
from orderguard.notifications.rendering import DEFAULT_LANGUAGE
from orderguard.notifications.services import OutboxIn, outbox_enqueue, user_languages
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Merchant, Role

log = logging.getLogger(__name__)

TOPIC = Topic.REPORT
# kind -> the period preset it reports
KINDS = {"weekly": "last_week", "monthly": "last_month"}
# How many findings the email's body names (the PDF lists them all).
TOP_FINDINGS = 3
PDF_TYPE = "application/pdf"


@dataclass(frozen=True, slots=True)
class ReportRecipient:
    key: str  # the recipient's part of the idempotency key
    merchant: Merchant | None  # None: the whole warehouse
    address: str
    language: str
    endpoint_id: int | None = None  # None: the default email


@dataclass
class DeliveryResult:
    kind: str
    period: Period
    queued: int = 0
    already: int = 0  # recipients that had this period's report already
    recipients: list[dict[str, Any]] = field(default_factory=list)
    without_contact: list[str] = field(default_factory=list)  # merchant codes
    opted_out: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "queued": self.queued,
            "already": self.already,
            "recipients": self.recipients,
            "without_contact": self.without_contact,
            "opted_out": self.opted_out,
        }


# A report not sent on its day (every worker down) is still sent this many days later.
CATCH_UP_DAYS = 2


def kinds_due(now: datetime) -> list[str]:
    """The reports due at `now` (local time): weekly from Monday's `OG_REPORT_SEND_HOUR`,
    monthly from the 1st's, each until `CATCH_UP_DAYS` days later (the period is the same:
    last week, last month; who already had it is left out by the messages' keys)."""
    local = timezone.localtime(now)
    days_since = {"weekly": local.weekday(), "monthly": local.day - 1}
    return [
        kind
        for kind, days in days_since.items()
        if days <= CATCH_UP_DAYS and (days > 0 or local.hour >= settings.OG_REPORT_SEND_HOUR)
    ]


def report_period(kind: str, *, today: date) -> Period:
    return period_preset(KINDS[kind], today=today)


def report_recipients(*, kind: str, period: Period) -> tuple[list[ReportRecipient], list[str], list[str]]:
    """Everyone who gets this period's report, the merchants without any contact (logged), and
    the merchants that opted out. Three queries whatever the number of merchants."""
    out: list[ReportRecipient] = []
    managers = list(
        User.objects.filter(is_active=True, membership__role=Role.MANAGER)
        .exclude(email="")
        .order_by("pk")
        .values_list("pk", "email")
    )
    languages = user_languages(pk for pk, _email in managers)
    out += [ReportRecipient(f"u{pk}", None, email, languages[pk]) for pk, email in managers]
    merchants = list(Merchant.objects.filter(active=True).order_by("code"))
    contacts: dict[int, list[MerchantContact]] = defaultdict(list)
    for c in MerchantContact.objects.filter(merchant__in=merchants, topic=TOPIC).select_related("channel"):
        contacts[c.merchant_id].append(c)
    without: list[str] = []
    opted_out: list[str] = []
    for m in merchants:
        mine = sorted(contacts.get(m.pk, []), key=lambda c: c.pk)
        live = [c for c in mine if c.enabled and c.channel.enabled and c.reports in (ReportKinds.ALL, kind)]
        if live:
            out += [ReportRecipient(f"m{m.pk}:c{c.pk}", m, c.address, c.language, c.channel_id) for c in live]
        elif mine:
            opted_out.append(m.code)
        elif m.contact_email:
            out.append(ReportRecipient(f"m{m.pk}", m, m.contact_email, DEFAULT_LANGUAGE))
        else:
            without.append(m.code)
            log.warning(
                "the %s report of %s is not sent to merchant %s: it has no report contact and no contact email",
                kind,
                period.first.isoformat(),
                m.code,
            )
    return out, without, opted_out


def _key(kind: str, period: Period, recipient_key: str) -> str:
    return f"report:{kind}:{period.first.isoformat()}:{recipient_key}"


def _actor(merchant: Merchant | None) -> Actor:
    """Whose eyes the report is built for: a manager's for the warehouse (the people's
    breakdown, every action), the merchant's own for a merchant."""
    if merchant is None:
        return Actor(user_id=0, role=Role.MANAGER, merchant_id=None, label="system:reports")
    return Actor(user_id=0, role=Role.MERCHANT, merchant_id=merchant.pk, label="system:reports")


def report_full(*, merchant: Merchant | None, period: Period, today: date) -> dict[str, Any]:
    """The report as the page shows it (figures, findings, actions), in the active language."""
    actor = _actor(merchant)
    scope = Scope(merchant=merchant)
    report = report_build(scope=scope, period=period, actor=actor)
    report["findings"] = findings_build(scope=scope, period=period)
    report["actions"] = actions_with_effect(actor=actor, today=today)
    return report


def report_link(report: dict[str, Any]) -> str:
    query = {"from": report["period"]["from"], "to": report["period"]["to"]}
    if report["merchant"]:
        query["merchant"] = report["merchant"]["code"]
    return f"{settings.OG_PUBLIC_URL.rstrip('/')}/reports/?{urlencode(query)}"


def report_summary(report: dict[str, Any]) -> str:
    """The email's body: the headline figures and the top findings, in the active language."""
    if report_is_empty(report):
        return _("该时段没有新增或关闭的异常单。")
    t = report["totals"]
    closed_steps = sum(s["closed"] for s in report["steps"])
    on_time = sum(s["on_time"] for s in report["steps"])
    lines = [
        _("新增 %(opened)s 件（上一时段 %(before)s 件），关闭 %(closed)s 件，成功率 %(rate)s。")
        % {
            "opened": t["opened"],
            "before": t["previous_opened"],
            "closed": t["closed"],
            "rate": percent(t["success_rate"]),
        },
        _("环节按时率 %(share)s（%(on_time)s / %(closed)s）。")
        % {
            "share": percent(None if closed_steps == 0 else round(100 * on_time / closed_steps, 1)),
            "on_time": on_time,
            "closed": closed_steps,
        },
    ]
    top = [r for r in sorted(report["types"], key=lambda r: -r["opened"]) if r["opened"]][:3]
    if top:
        lines.append(
            _("最多的类型：%(types)s。")
            % {
                "types": _("、").join(
                    _("%(label)s %(opened)s 件（%(share)s）")
                    % {"label": r["label"], "opened": r["opened"], "share": percent(r["share"])}
                    for r in top
                )
            }
        )
    findings = (report.get("findings") or [])[:TOP_FINDINGS]
    if findings:
        lines.append(_("主要发现："))
        for f in findings:
            advice = finding_advice(f)[0]
            lines.append(
                "- "
                + _("%(subject)s：%(finding)s，影响 %(affected)s 个订单。%(advice)s")
                % {
                    "subject": f["subject"],
                    "finding": finding_text(f),
                    "affected": f["affected"],
                    "advice": advice,
                }
            )
    lines.append(_("完整报表见附件（PDF、Excel）。"))
    return "\n".join(lines)


def queued_keys(keys: list[str]) -> set[str]:
    """The keys already in the outbox: their recipients had the report (or have it waiting)."""
    return set(
        OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )


def reports_send(*, kind: str, now: datetime, dry_run: bool = False) -> DeliveryResult:
    """Queue this period's `kind` report ("weekly" or "monthly") for everyone who has not had
    it (see the module). `dry_run`: who would get it, nothing built or queued."""
    today = timezone.localdate(now)
    period = report_period(kind, today=today)
    result = DeliveryResult(kind=kind, period=period)
    recipients, result.without_contact, result.opted_out = report_recipients(kind=kind, period=period)
    keys = {r.key: _key(kind, period, r.key) for r in recipients}
    sent = queued_keys(list(keys.values()))
    todo = [r for r in recipients if keys[r.key] not in sent]
    result.already = len(recipients) - len(todo)
    result.recipients = [
        {
            "merchant": r.merchant.code if r.merchant else None,
            "address": r.address,
            "language": r.language,
            "queued": keys[r.key] not in sent,
        }
        for r in recipients
    ]
    if dry_run or not todo:
        return result
    # one report per scope and language (its labels are in the reader's language)
    groups: dict[tuple[int | None, str], list[ReportRecipient]] = defaultdict(list)
    for r in todo:
        groups[(r.merchant.pk if r.merchant else None, r.language)].append(r)
    messages: list[OutboxIn] = []
    for (_merchant_id, language), people in groups.items():
        merchant = people[0].merchant
        with translation.override(language):
            report = report_full(merchant=merchant, period=period, today=today)
            name = f"report-{merchant.code if merchant else 'all'}-{period.first}-{period.last}"
            files = (
                Attachment(f"{name}.pdf", report_pdf(report), PDF_TYPE),
                Attachment(f"{name}.xlsx", report_xlsx(report), XLSX_TYPE),
            )
            context = {
                "period": f"{period.first.isoformat()} — {period.last.isoformat()}",
                "scope": report["merchant"]["name"] if report["merchant"] else _("全仓"),
                "title": report_title(report),
                "summary": report_summary(report),
                "link": report_link(report),
            }
        messages += [
            OutboxIn(
                topic=TOPIC,
                recipient=r.address,
                endpoint_id=r.endpoint_id,
                language=language,
                context=context,
                idempotency_key=keys[r.key],
                merchant_id=merchant.pk if merchant else None,
                attachments=files,
            )
            for r in people
        ]
    result.queued = outbox_enqueue(messages=messages, now=now)
    return result


def reports_due_send(*, now: datetime) -> list[DeliveryResult]:
    """The periodic task's work: every report due at `now` (see `kinds_due`)."""
    return [reports_send(kind=kind, now=now) for kind in kinds_due(now)]
