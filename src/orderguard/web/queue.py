"""The work queue page: open cases soonest due first, filters, take and (bulk) assign; with a
status filter, the closed cases too (the analysis links there, S3).

Thin views: the filters are parsed by a form, the page comes from `cases_for_queue`, and
take/assign call the case services; a refusal comes back as a message on the queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from orderguard.cases.choices import OPEN_STATUSES, CaseOutcome, CaseStatus
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.models import ExceptionCase
from orderguard.cases.selectors import (
    QUEUE_ALL,
    QUEUE_CLOSED,
    QueueCursor,
    QueueFilters,
    QueueOrder,
    assignee_label,
    cases_for_queue,
)
from orderguard.cases.services import case_assign, cases_assign_bulk
from orderguard.core import clock
from orderguard.core.choices import DetectionSource, ExceptionType
from orderguard.core.errors import NotFound
from orderguard.orders.choices import Platform
from orderguard.orders.models import Channel
from orderguard.sla.steps import STEP_LABELS
from orderguard.tenancy.access import Actor, staff_users, visible
from orderguard.tenancy.models import Merchant
from orderguard.web.common import (
    actor_or_refuse,
    invalid_filters,
    micros_parse,
    micros_text,
    with_any,
)

PAGE_SIZE = 50
MAX_BULK = 500
QUEUE_URL = "/queue/"


class QueueFilterForm(forms.Form):
    type = forms.ChoiceField(
        label=gettext_lazy("类型"), required=False, choices=with_any(ExceptionType.choices)
    )
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[
            ("", gettext_lazy("全部未结")),
            *[c for c in CaseStatus.choices if c[0] in OPEN_STATUSES],
            *[c for c in CaseStatus.choices if c[0] not in OPEN_STATUSES],
            (QUEUE_CLOSED, gettext_lazy("全部已结")),
            (QUEUE_ALL, gettext_lazy("全部（含已结）")),
        ],
    )
    merchant = forms.ChoiceField(label=gettext_lazy("商家"), required=False)
    channel = forms.ChoiceField(label=gettext_lazy("店铺"), required=False)
    platform = forms.ChoiceField(
        label=gettext_lazy("平台"), required=False, choices=with_any(Platform.choices)
    )
    province = forms.CharField(label=gettext_lazy("收货省份"), required=False, max_length=50)
    sku = forms.CharField(label=gettext_lazy("商品编码"), required=False, max_length=100)
    assignee = forms.CharField(
        label=gettext_lazy("处理人"),
        required=False,
        max_length=150,
        validators=[RegexValidator(r"^[\w.@+-]*$")],
    )
    source = forms.ChoiceField(
        label=gettext_lazy("发现方式"), required=False, choices=with_any(DetectionSource.choices)
    )
    opened_from = forms.DateField(
        label=gettext_lazy("创建日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    opened_to = forms.DateField(
        label=gettext_lazy("创建日期至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    closed_from = forms.DateField(
        label=gettext_lazy("关闭日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    closed_to = forms.DateField(
        label=gettext_lazy("关闭日期至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    outcome = forms.ChoiceField(
        label=gettext_lazy("结果"), required=False, choices=with_any(CaseOutcome.choices)
    )
    step = forms.ChoiceField(
        label=gettext_lazy("经过环节"), required=False, choices=with_any(list(STEP_LABELS.items()))
    )
    # the next page's cursor: "<deadline micros or n>-<id>" for the open lists, "c<closing
    # micros>-<id>" for the closed ones, "o<opening micros>-<id>" for open and closed together
    after = forms.RegexField(
        label=gettext_lazy("分页位置"),
        regex=r"^(n|\d{1,20}|[co]\d{1,20})-\d{1,19}$",
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(
        self, *args: Any, actor: Actor, channels: list[Channel], merchants: list[Merchant], **kw: Any
    ):
        super().__init__(*args, **kw)
        channel, merchant = self.fields["channel"], self.fields["merchant"]
        assert isinstance(channel, forms.ChoiceField) and isinstance(merchant, forms.ChoiceField)
        channel.choices = with_any([(c.code, c.name) for c in channels])
        merchant.choices = with_any([(m.code, m.name) for m in merchants])
        if not actor.is_staff_role:
            del self.fields["merchant"]

    def clean_after(self) -> QueueCursor | None:
        text = self.cleaned_data["after"]
        if not text:
            return None
        at, pk = text.split("-")
        order = _CURSOR_ORDERS.get(at[0], QueueOrder.DUE)
        try:
            moment = micros_parse(at[1:] if order is not QueueOrder.DUE else at)
        except OverflowError:
            raise forms.ValidationError(_("分页位置无效")) from None
        return QueueCursor(at=moment, pk=int(pk), order=order)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        after = data.get("after")
        if after is not None and "status" in data:
            filters = QueueFilters(
                status=data["status"],
                closed_from=data.get("closed_from"),
                closed_to=data.get("closed_to"),
                outcome=data.get("outcome", ""),
            )
            if after.order is not filters.order:
                # a page of another list (the filters changed): no place to start from
                self.add_error("after", _("分页位置无效"))
        return data


_CURSOR_ORDERS = {"c": QueueOrder.CLOSED, "o": QueueOrder.OPENED}
_CURSOR_PREFIX = {QueueOrder.DUE: "", QueueOrder.CLOSED: "c", QueueOrder.OPENED: "o"}


def _cursor_text(cursor: QueueCursor) -> str:
    return f"{_CURSOR_PREFIX[cursor.order]}{micros_text(cursor.at)}-{cursor.pk}"


def _due_state(case: ExceptionCase, now: datetime) -> str:
    if case.due_at is not None and case.due_at < now:
        return "overdue"
    if case.warn_at is not None and case.warn_at <= now:
        return "due_soon"
    return "on_time"


@never_cache
@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The cases the user may see, one page at a time (keyset): open ones soonest deadline
    first, or, with a status filter for them, closed ones latest closed first, or every case
    latest opened first. Invalid filters are refused (400), naming them."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    channels = list(visible(Channel.objects.all(), actor).order_by("code"))
    merchants = list(Merchant.objects.order_by("code")) if actor.is_staff_role else []
    form = QueueFilterForm(request.GET, actor=actor, channels=channels, merchants=merchants)
    if not form.is_valid():
        return render(
            request,
            "web/queue.html",
            {
                "form": form,
                "invalid": invalid_filters(form),
                "is_staff": actor.is_staff_role,
                "assignees": [],
            },
            status=400,
        )
    data = form.cleaned_data
    filters = QueueFilters(
        case_type=data.get("type", ""),
        status=data.get("status", ""),
        merchant_code=data.get("merchant", ""),
        channel_code=data.get("channel", ""),
        # a merchant user knows no staff usernames: it may ask for unassigned cases only
        assignee=data.get("assignee", "") if actor.is_staff_role or data.get("assignee") == "none" else "",
        source=data.get("source", ""),
        opened_from=data.get("opened_from"),
        opened_to=data.get("opened_to"),
        platform=data.get("platform", ""),
        province=data.get("province", ""),
        sku_code=data.get("sku", ""),
        closed_from=data.get("closed_from"),
        closed_to=data.get("closed_to"),
        outcome=data.get("outcome", ""),
        step=data.get("step", ""),
    )
    after = data.get("after")
    cases, next_cursor = cases_for_queue(actor=actor, filters=filters, after=after, limit=PAGE_SIZE)
    now = clock.now()
    kept = {k: v for k, v in data.items() if v and k != "after"}
    order = filters.order
    rows = [
        {
            "case": c,
            "open": c.status in OPEN_STATUSES,
            "state": _due_state(c, now),
            "assignee": assignee_label(case=c, actor=actor),
        }
        for c in cases
    ]
    return render(
        request,
        "web/queue.html",
        {
            "form": form,
            "rows": rows,
            "order": order.value,
            "time_head": {
                QueueOrder.DUE: _("截止时间"),
                QueueOrder.CLOSED: _("关闭时间"),
                QueueOrder.OPENED: _("截止／关闭时间"),
            }[order],
            "empty_text": {
                QueueOrder.DUE: _("没有符合条件的未结异常单。"),
                QueueOrder.CLOSED: _("没有符合条件的已结异常单。"),
                QueueOrder.OPENED: _("没有符合条件的异常单。"),
            }[order],
            "is_staff": actor.is_staff_role,
            # take and assign are for open cases: a closed list has neither
            "can_assign": actor.is_staff_role and any(r["open"] for r in rows),
            "assignees": list(staff_users().order_by("username")) if actor.is_staff_role else [],
            "filters_query": urlencode(kept),
            "next_query": urlencode({**kept, "after": _cursor_text(next_cursor)}) if next_cursor else "",
            "paged": after is not None,
            "here": request.get_full_path(),
        },
    )


def _back(request: HttpRequest) -> HttpResponseRedirect:
    """Back to the queue page the form was posted from (its filters and page), never elsewhere."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return HttpResponseRedirect(target if safe and target.startswith(QUEUE_URL) else QUEUE_URL)


def _refusal(exc: CaseActionNotAllowed) -> str:
    if exc.code == CaseActionNotAllowed.CASE_CLOSED:
        ids = ", ".join(str(i) for i in exc.data["case_ids"])
        return _("异常单已关闭：%(ids)s") % {"ids": ids}
    return {
        CaseActionNotAllowed.ASSIGNEE_UNKNOWN: _("没有这个用户"),
        CaseActionNotAllowed.ASSIGNEE_NOT_ELIGIBLE: _("只能指派给在职的仓库员工"),
    }.get(exc.code, _("只有仓库员工可以处理异常单"))


def _act(request: HttpRequest, do: Any) -> HttpResponse:
    """Run an action; 403 for a merchant user, 404 for a case it may not see, else back to the
    queue with a message saying what happened."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        message = do(actor)
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到该异常单")}, status=404)
    except CaseActionNotAllowed as exc:
        if exc.code == CaseActionNotAllowed.ROLE:
            return render(request, "web/refused.html", {"message": _refusal(exc)}, status=403)
        messages.error(request, _refusal(exc))
        return _back(request)
    messages.success(request, message)
    return _back(request)


@never_cache
@login_required
@require_POST
def queue_take(request: HttpRequest, case_id: int) -> HttpResponse:
    """Take one case (assign it to oneself)."""

    def take(actor: Actor) -> str:
        case_assign(case_id=case_id, assignee_id=actor.user_id, actor=actor, now=clock.now())
        return _("已领取异常单 %(id)s") % {"id": case_id}

    return _act(request, take)


@never_cache
@login_required
@require_POST
def queue_assign(request: HttpRequest) -> HttpResponse:
    """Assign the ticked cases to one staff user, all or none."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if not actor.is_staff_role:
        return render(request, "web/refused.html", {"message": _("只有仓库员工可以处理异常单")}, status=403)
    raw_ids = request.POST.getlist("case_ids")
    raw_assignee = request.POST.get("assignee", "")
    if not raw_ids or len(raw_ids) > MAX_BULK or not all(i.isdigit() and len(i) < 19 for i in raw_ids):
        messages.error(request, _("请勾选 1 到 500 张异常单"))
        return _back(request)
    if not (raw_assignee.isdigit() and len(raw_assignee) < 19):
        messages.error(request, _("请选择处理人"))
        return _back(request)
    case_ids = [int(i) for i in raw_ids]

    def assign(actor: Actor) -> str:
        cases = cases_assign_bulk(
            case_ids=case_ids, assignee_id=int(raw_assignee), actor=actor, now=clock.now()
        )
        name = cases[0].assignee.get_username() if cases and cases[0].assignee else ""
        return _("已将 %(count)s 张异常单指派给 %(user)s") % {"count": len(cases), "user": name}

    return _act(request, assign)
