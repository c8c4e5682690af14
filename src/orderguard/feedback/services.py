"""Customer-service report writes and reads (D5): find the order, file the report (a case of
the matching type, source D5, opened or joined; a ``reported`` CaseEvent), keep its
attachments, and tell the reporter when the case is closed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from orderguard.cases import events
from orderguard.cases.choices import OPEN_STATUSES
from orderguard.cases.models import ExceptionCase
from orderguard.cases.services import NOTE_MAX_LENGTH, case_open_or_join
from orderguard.core import bulk
from orderguard.core.choices import DetectionSource, ExceptionType
from orderguard.core.errors import DomainError
from orderguard.core.findings import Finding
from orderguard.feedback.models import ReportAttachment, ReportKind, ServiceReport, SpecialKind
from orderguard.orders.models import Order
from orderguard.tenancy.access import Actor, get_visible, visible

KIND_TYPES: dict[str, ExceptionType] = {
    ReportKind.SPECIAL: ExceptionType.SPECIAL_REQUEST,
    ReportKind.ADDRESS: ExceptionType.RECIPIENT_ERROR,
    ReportKind.PRODUCT: ExceptionType.PRODUCT_ERROR,
    # T5 covers "any other anomaly that customer service reports"
    ReportKind.OTHER: ExceptionType.SPECIAL_REQUEST,
}
# What an attachment may be, told by its first bytes (the name and the declared type are not
# trusted): pictures and PDF.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
LOOKUP_LIMIT = 20
SYSTEM_ACTOR = "system:feedback"


class ReportRefused(DomainError):
    """A report refused, nothing written. `code`: ``LOOKUP_EMPTY`` (neither an order id nor a
    phone tail), ``PHONE_TAIL_INVALID`` (not 4 digits), ``SCOPE_REQUIRED`` (a phone tail
    without a merchant or channel), ``ORDER_NOT_FOUND``, ``ORDER_AMBIGUOUS`` (several orders:
    `candidates`), ``KIND_INVALID``, ``SPECIAL_KIND_INVALID``, ``TEXT_REQUIRED``,
    ``TEXT_INVALID``, ``TOO_MANY_ATTACHMENTS``, ``ATTACHMENT_TOO_LARGE``, ``ATTACHMENT_TYPE``;
    `field` names the field (``attachments[<i>]`` for a file)."""

    def __init__(self, *, code: str, field: str = "", **data: Any) -> None:
        super().__init__(code, field=field, **data)
        self.code = code
        self.field = field
        self.candidates: list[Order] = data.get("candidates", [])


def report_error_message(exc: ReportRefused) -> str:
    return {
        "LOOKUP_EMPTY": _("请填写平台订单号，或手机号后四位"),
        "PHONE_TAIL_INVALID": _("手机号后四位必须是 4 位数字"),
        "SCOPE_REQUIRED": _("按手机号后四位查找时请选择商家或渠道"),
        "ORDER_NOT_FOUND": _("找不到该订单，没有提交任何内容"),
        "ORDER_AMBIGUOUS": _("找到多个订单，请选择要反馈的订单"),
        "KIND_INVALID": _("请选择反馈类型"),
        "SPECIAL_KIND_INVALID": _("特殊需求请选择需求类型"),
        "TEXT_REQUIRED": _("请填写反馈内容"),
        "TEXT_INVALID": _("反馈内容过长或含有不允许的字符"),
        "TOO_MANY_ATTACHMENTS": _("附件太多，最多 %(max)d 个") % {"max": settings.REPORT_ATTACHMENTS_MAX},
        "ATTACHMENT_TOO_LARGE": _("附件太大，每个不能超过 %(max)d KB")
        % {"max": settings.REPORT_ATTACHMENT_MAX_BYTES // 1024},
        "ATTACHMENT_TYPE": _("附件只能是图片（PNG、JPEG、GIF）或 PDF"),
    }.get(exc.code, exc.code)


def orders_lookup(
    *,
    actor: Actor,
    platform_order_id: str = "",
    phone_tail: str = "",
    merchant_id: int | None = None,
    channel_id: int | None = None,
) -> list[Order]:
    """The orders a report may be about, newest payment first (at most `LOOKUP_LIMIT`): by
    platform order id, or by the phone's last 4 digits within a merchant or a channel (a
    merchant user: its own). Only orders the actor may see. Raises ``LOOKUP_EMPTY``,
    ``PHONE_TAIL_INVALID``, ``SCOPE_REQUIRED``; an empty list when nothing matches."""
    qs = visible(Order.objects.select_related("channel", "merchant"), actor)
    order_id = platform_order_id.strip()
    tail = phone_tail.strip()
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if channel_id is not None:
        qs = qs.filter(channel_id=channel_id)
    if order_id:
        qs = qs.filter(platform_order_id=order_id[:64])
    elif tail:
        if not re.fullmatch(r"[0-9]{4}", tail):
            raise ReportRefused(code="PHONE_TAIL_INVALID", field="phone_tail")
        if merchant_id is None and channel_id is None and actor.merchant_id is None:
            raise ReportRefused(code="SCOPE_REQUIRED", field="merchant")
        qs = qs.filter(phone_tail=tail)
    else:
        raise ReportRefused(code="LOOKUP_EMPTY", field="platform_order_id")
    return list(qs.order_by("-paid_at", "-pk")[:LOOKUP_LIMIT])


def order_for_report(**lookup: Any) -> Order:
    """The one order of `orders_lookup`; ``ORDER_NOT_FOUND`` or ``ORDER_AMBIGUOUS`` (with the
    candidates) otherwise."""
    found = orders_lookup(**lookup)
    if not found:
        raise ReportRefused(code="ORDER_NOT_FOUND", field="platform_order_id")
    if len(found) > 1:
        raise ReportRefused(code="ORDER_AMBIGUOUS", field="order", candidates=found)
    return found[0]


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as sent. `size` is its size when known before reading it: a file over the limit
    is refused without reading it (`data` left empty)."""

    name: str
    declared_type: str
    data: bytes
    size: int | None = None

    @classmethod
    def from_file(cls, f: Any) -> Upload:
        """From an uploaded file (Django's or Ninja's), read only when within the limit."""
        size = int(f.size or 0)
        data = f.read() if size <= settings.REPORT_ATTACHMENT_MAX_BYTES else b""
        return cls(name=f.name or "file", declared_type=f.content_type or "", data=data, size=size)


def sniff(data: bytes) -> str | None:
    """The content type the bytes are, among those accepted; None for anything else."""
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _checked_uploads(uploads: Sequence[Upload]) -> list[tuple[Upload, str]]:
    if len(uploads) > settings.REPORT_ATTACHMENTS_MAX:
        raise ReportRefused(code="TOO_MANY_ATTACHMENTS", field="attachments")
    out = []
    for i, up in enumerate(uploads):
        if max(up.size or 0, len(up.data)) > settings.REPORT_ATTACHMENT_MAX_BYTES:
            raise ReportRefused(code="ATTACHMENT_TOO_LARGE", field=f"attachments[{i}]", name=up.name)
        kind = sniff(up.data)
        declared = up.declared_type.split(";")[0].strip().lower()
        # the declared type must agree with the bytes (a generic one is let through)
        if kind is None or declared not in ("", "application/octet-stream", kind):
            raise ReportRefused(code="ATTACHMENT_TYPE", field=f"attachments[{i}]", name=up.name)
        out.append((up, kind))
    return out


def _clean_text(text: str) -> str:
    note = (text or "").strip()
    if not note:
        raise ReportRefused(code="TEXT_REQUIRED", field="text")
    if len(note) > NOTE_MAX_LENGTH or any(
        (ord(ch) < 32 and ch not in "\n\r\t") or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in note
    ):
        raise ReportRefused(code="TEXT_INVALID", field="text")
    return note


_SAFE_NAME = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True, slots=True)
class ReportResult:
    report: ServiceReport
    case: ExceptionCase
    created: bool


def report_file(
    *,
    actor: Actor,
    order_id: int,
    kind: str,
    text: str,
    now: datetime,
    special_kind: str = "",
    attachments: Sequence[Upload] = (),
) -> ReportResult:
    """File a report on an order the actor may see (warehouse staff: any; a merchant user: its
    own, another merchant's is `NotFound` like a missing one). Every field and attachment is
    checked before anything is written (`ReportRefused`). The report opens a case of the
    kind's type (special request and other: T5, address: T2, product: T3) with source D5, or
    joins the order's open case of that type, and logs a ``reported`` CaseEvent naming the
    report; the attachments are stored under OG_VAR_DIR/media."""
    order = get_visible(Order.objects.all(), actor, order_id)
    if kind not in ReportKind.values:
        raise ReportRefused(code="KIND_INVALID", field="kind")
    if kind == ReportKind.SPECIAL:
        if special_kind not in SpecialKind.values:
            raise ReportRefused(code="SPECIAL_KIND_INVALID", field="special_kind")
    else:
        special_kind = ""
    body = _clean_text(text)
    files = _checked_uploads(attachments)
    saved: list[ReportAttachment] = []
    try:
        with transaction.atomic():
            report = ServiceReport.objects.create(
                merchant_id=order.merchant_id,
                order=order,
                kind=kind,
                special_kind=special_kind,
                text=body,
                reporter_id=actor.user_id,
                reporter_label=actor.label,
                created_at=now,
            )
            for up, content_type in files:
                name = _SAFE_NAME.sub("_", up.name)[-100:] or "file"
                att = ReportAttachment(
                    report=report,
                    merchant_id=order.merchant_id,
                    name=up.name[:200],
                    content_type=content_type,
                    size=len(up.data),
                )
                att.file.save(f"{report.pk}-{name}", ContentFile(up.data), save=False)
                saved.append(att)
                att.save()
            reason = f"special_{special_kind}" if kind == ReportKind.SPECIAL else kind
            joined = case_open_or_join(
                order=order,
                case_type=KIND_TYPES[kind],
                findings=[
                    Finding(
                        code="SERVICE_REPORT",
                        type=KIND_TYPES[kind],
                        field=kind,
                        source=DetectionSource.SERVICE_REPORT,
                        data={"reason": reason, "report": report.pk},
                    )
                ],
                now=now,
                actor_label=actor.label,
                actor_id=actor.user_id,
            )
            report.case, report.case_created = joined.case, joined.created
            report.save(update_fields=["case", "case_created"])
            bulk.insert(
                [
                    events.reported(
                        joined.case,
                        at=now,
                        actor_label=actor.label,
                        actor_id=actor.user_id,
                        report=report.pk,
                        kind=kind,
                        special_kind=special_kind,
                        text=body,
                        attachments=[a.name for a in saved],
                        opened=joined.created,
                    )
                ]
            )
    except BaseException:
        for att in saved:
            att.file.storage.delete(att.file.name)
        raise
    return ReportResult(report=report, case=joined.case, created=joined.created)


def reports_visible(
    *,
    actor: Actor,
    kind: str = "",
    case_state: str = "",
    merchant_id: int | None = None,
    order_id: str = "",
) -> QuerySet[ServiceReport]:
    """The reports `actor` may see (a merchant user: those on its orders), newest first, with
    their order, case and merchant; narrowed by kind, the case's state (``open`` / ``closed``),
    merchant and platform order id (contained). An unknown kind or state narrows nothing."""
    qs = visible(ServiceReport.objects.select_related("order", "case", "reporter"), actor)
    if kind in ReportKind.values:
        qs = qs.filter(kind=kind)
    if case_state == "open":
        qs = qs.filter(case__status__in=OPEN_STATUSES)
    elif case_state == "closed":
        qs = qs.exclude(case__status__in=OPEN_STATUSES)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if order_id.strip():
        qs = qs.filter(order__platform_order_id__icontains=order_id.strip())
    return qs.order_by("-created_at", "-pk")


def report_get(*, actor: Actor, report_id: int) -> ServiceReport:
    return get_visible(ServiceReport.objects.select_related("order", "case"), actor, report_id)


def attachment_get(*, actor: Actor, attachment_id: int) -> ReportAttachment:
    """An attachment of a report on an order the actor may see; `NotFound` otherwise."""
    return get_visible(ReportAttachment.objects.all(), actor, attachment_id)


def reports_notify_resolved(*, now: datetime) -> int:
    """Tell each reporter, in the in-app inbox, that the case its report opened or joined was
    closed, once per report (the outbox key names the report). Returns how many were told.
    Without an enabled inbox endpoint nothing is sent and the reports wait."""
    from orderguard.notifications.models import NotificationChannel, Topic
    from orderguard.notifications.services import OutboxIn, outbox_enqueue

    inbox = (
        NotificationChannel.objects.filter(kind="inbox", enabled=True, merchant__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if inbox is None:
        return 0
    with transaction.atomic():
        due = list(
            ServiceReport.objects.select_for_update(of=("self",))
            .filter(notified_at__isnull=True, case__isnull=False, reporter__isnull=False)
            .exclude(case__status__in=[str(s) for s in OPEN_STATUSES])
            .select_related("case", "order")
            .order_by("pk")[:500]
        )
        if not due:
            return 0
        messages = []
        with translation.override(settings.LANGUAGE_CODE):
            for r in due:
                case = r.case
                assert case is not None
                subject = _("您反馈的订单 %(order)s：异常单 #%(case)s 已处理") % {
                    "order": r.order.platform_order_id,
                    "case": case.pk,
                }
                body = _("结果：%(outcome)s。%(resolution)s") % {
                    "outcome": case.get_outcome_display() or case.get_status_display(),
                    "resolution": case.resolution,
                }
                messages.append(
                    OutboxIn(
                        topic=Topic.REPORT_RESOLVED.value,
                        recipient=str(r.reporter_id),
                        idempotency_key=f"report:{r.pk}:resolved:inbox",
                        endpoint_id=inbox,
                        subject=subject,
                        body=body,
                        merchant_id=r.merchant_id,
                        context=None,
                    )
                )
        outbox_enqueue(messages=messages, now=now)
        ServiceReport.objects.filter(pk__in=[r.pk for r in due]).update(notified_at=now)
    return len(due)


def report_attachments(report: ServiceReport) -> list[ReportAttachment]:
    return list(report.attachments.order_by("pk"))
