from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.cases.choices import OPEN_STATUSES, CaseEventType, CaseOutcome, CaseStatus, WaitingOn
from orderguard.core import sql  # registers the `in_literals` lookup
from orderguard.core.choices import DetectionSource, ExceptionType
from orderguard.core.models import EventModel

# The open statuses as the partial indexes' predicate lists them. Queries that should use those
# indexes filter with `status__in_literals=OPEN_STATUS_VALUES` (see `InLiterals`).
OPEN_STATUS_VALUES = tuple(sorted(str(s.value) for s in OPEN_STATUSES))
OPEN_CASE = models.Q(status__in=OPEN_STATUS_VALUES)


class ExceptionCase(models.Model):
    """One exception of one type on one order, driven to a resolution within its deadline.

    At most one open case per (order, type): the partial unique constraint is the last guard.
    `findings` holds the current findings (dicts of `core.findings.Finding`); `step` is the
    handling step whose deadline `due_at` is. `waiting_on` says whom a waiting case waits for
    (blank in every other status). A closed case (resolved, cancelled) has its `outcome`,
    `closed_at` and `handling_seconds` (from `opened_at` to `closed_at`); an open one has none.
    Status moves follow `cases.machine`.
    """

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="cases")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="cases")
    type = models.CharField(_("类型"), max_length=2, choices=ExceptionType.choices)
    status = models.CharField(_("状态"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    source = models.CharField(_("发现方式"), max_length=10, choices=DetectionSource.choices)
    findings = models.JSONField(_("问题"), default=list, blank=True)
    step = models.CharField(_("当前环节"), max_length=50, blank=True)
    due_at = models.DateTimeField(_("截止时间"), null=True, blank=True)
    warn_at = models.DateTimeField(_("预警时间"), null=True, blank=True)
    assignee = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    waiting_on = models.CharField(_("等待对象"), max_length=10, choices=WaitingOn.choices, blank=True)
    resolution = models.TextField(_("处理结果"), blank=True)
    outcome = models.CharField(_("结果"), max_length=20, choices=CaseOutcome.choices, blank=True)
    opened_at = models.DateTimeField(_("创建时间"))
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    handling_seconds = models.PositiveIntegerField(_("处理用时(秒)"), null=True, blank=True)
    # The deadline engine (S2, `sla.services`): how far the step's alerts have gone (0 none,
    # 1 warned, 2 overdue, 3 team lead, 4 manager), when the next one is due (None: none is,
    # or the clock is paused), and a paused clock's remaining working seconds.
    sla_level = models.PositiveSmallIntegerField(_("时效提醒级别"), default=0)
    sla_next_at = models.DateTimeField(_("下次时效提醒"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(_("计时暂停于"), null=True, blank=True)
    sla_remaining_seconds = models.PositiveIntegerField(_("暂停时剩余(秒)"), null=True, blank=True)
    # The contact ladder (H2, B2, `cases.ladder`): the next rung and when it is due, and when
    # the system takes it by itself (the SMS, the request to the merchant; None for a call,
    # which a person makes).
    contact_next = models.CharField(_("下一步联系"), max_length=10, blank=True)
    contact_next_at = models.DateTimeField(_("下一步联系时间"), null=True, blank=True)
    contact_auto_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("异常单")
        verbose_name_plural = _("异常单")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "type"],
                condition=models.Q(status__in=["open", "in_progress", "waiting"]),
                name="case_one_open_per_order_type",
            )
        ]
        indexes = [
            models.Index(fields=["merchant", "status", "due_at"], name="case_merchant_queue_idx"),
            models.Index(fields=["status", "due_at"], name="case_queue_idx"),
            models.Index(fields=["type", "status"], name="case_type_status_idx"),
            # Partial indexes over the open cases (about a third of the table, and the part
            # every screen reads). The queue and the API list walk them in deadline order and
            # stop after one page; no sort of the open cases.
            models.Index(fields=["due_at", "id"], condition=OPEN_CASE, name="case_open_due_idx"),
            models.Index(
                fields=["merchant", "due_at", "id"], condition=OPEN_CASE, name="case_open_merchant_due_idx"
            ),
            models.Index(
                fields=["assignee", "due_at", "id"], condition=OPEN_CASE, name="case_open_assignee_due_idx"
            ),
            # covers the dashboard's counts (per merchant, type and deadline state) without
            # reading the table
            models.Index(
                fields=["merchant", "type", "due_at", "warn_at"],
                condition=OPEN_CASE,
                name="case_open_counts_idx",
            ),
            # who holds what (S2): counts per assignee and deadline state without the table
            models.Index(
                fields=["assignee", "due_at", "warn_at"],
                condition=OPEN_CASE,
                name="case_open_person_counts_idx",
            ),
            # the ladder's scan reads only the open cases whose automatic rung is due
            models.Index(
                fields=["contact_auto_at", "id"],
                condition=OPEN_CASE & models.Q(contact_auto_at__isnull=False),
                name="case_open_contact_auto_idx",
            ),
            # the deadline scan reads only the open cases whose next alert is due
            models.Index(
                fields=["sla_next_at", "id"],
                condition=OPEN_CASE & models.Q(sla_next_at__isnull=False),
                name="case_open_sla_next_idx",
            ),
            # The queue's lists with closed cases (the analysis links there, S3): the closed
            # ones latest closing first, open and closed together latest opening first, each
            # walked from the top of an index and stopped after one page.
            models.Index(
                fields=["closed_at", "id"],
                condition=models.Q(closed_at__isnull=False),
                name="case_closed_idx",
            ),
            models.Index(
                fields=["merchant", "closed_at", "id"],
                condition=models.Q(closed_at__isnull=False),
                name="case_closed_merchant_idx",
            ),
            # an outcome's closings (the report's failed and cancelled counts): a rare one would
            # otherwise read every closing of the period to find a page
            models.Index(
                fields=["outcome", "closed_at", "id"],
                condition=models.Q(closed_at__isnull=False),
                name="case_closed_outcome_idx",
            ),
            # the merchant last, not first: with a second index led by the merchant, SQLite's
            # planner started the API case list from the merchants and sorted every open case
            # of the type (3 ms -> 200 ms at 1M cases); last, it still spares a merchant's list
            # the table reads
            models.Index(fields=["opened_at", "id", "merchant"], name="case_opened_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type}#{self.pk}"


class CaseEvent(EventModel):
    case = models.ForeignKey(ExceptionCase, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=30, choices=CaseEventType.choices)

    class Meta:
        verbose_name = _("异常单日志")
        verbose_name_plural = _("异常单日志")
        ordering = ["occurred_at", "pk"]
        indexes = [
            models.Index(fields=["case", "occurred_at"], name="caseevent_case_idx"),
            # the queue's step filter (a step the case went through, S3): the cases of a step few
            # went through are found from here, the others by walking the list's index. Over
            # every event, not a partial index: PostgreSQL keeps statistics on the expression
            # of a full index only, and without them it cannot tell a rare step from a common one
            models.Index(sql.JsonKeyText("data", "step"), "case", name="caseevent_step_idx"),
        ]


class ContactAttempt(EventModel):
    """One try to reach the buyer or the merchant about a case (H2, H3, B2): `type` is the
    channel (`ladder.ContactChannel`), `outcome` what came of it, `note` what was said (never
    the number). Append-only."""

    case = models.ForeignKey(ExceptionCase, on_delete=models.PROTECT, related_name="contacts")
    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("结果"), max_length=20)
    note = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("联系记录")
        verbose_name_plural = _("联系记录")
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["merchant", "case", "occurred_at"], name="contact_case_idx")]

    def get_channel_label(self) -> str:
        from orderguard.cases.ladder import ContactChannel

        return str(ContactChannel(self.type).label) if self.type in ContactChannel.values else self.type

    def get_outcome_label(self) -> str:
        from orderguard.cases.ladder import ContactOutcome

        return (
            str(ContactOutcome(self.outcome).label) if self.outcome in ContactOutcome.values else self.outcome
        )
