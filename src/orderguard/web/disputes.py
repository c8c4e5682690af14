"""A disputed SKU's page (T3, H3.2): what the buyer says, the cases and orders that asked, and
for the merchant the form to answer (product data fixed / the SKU is right / other, with words).
A merchant user sees and answers its own; customer service, managers and admins may record an
answer for the merchant; another merchant's dispute is "not found". `cases.disputes` does the
work; the answer resumes the cases waiting on it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from orderguard.cases.disputes import (
    ANSWER_ROLES,
    DisputeRefused,
    dispute_get,
    dispute_refusal_message,
    sku_dispute_answer,
)
from orderguard.cases.selectors import actor_labels_as_seen_by
from orderguard.cases.services import NOTE_MAX_LENGTH
from orderguard.catalog.models import MERCHANT_ANSWERS
from orderguard.core import clock
from orderguard.core.errors import NotFound
from orderguard.web.common import actor_or_refuse


@never_cache
@login_required
@require_GET
def dispute_page(request: HttpRequest, dispute_id: int) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        dispute = dispute_get(actor=actor, dispute_id=dispute_id)
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到这条商品资料核实")}, status=404)
    cases = list(dispute.cases.select_related("order").order_by("pk"))
    labels = actor_labels_as_seen_by(
        actor=actor, labels={dispute.opened_by_label, dispute.answered_by_label} - {""}
    )
    return render(
        request,
        "web/dispute.html",
        {
            "dispute": dispute,
            "cases": cases,
            "opened_by": labels.get(dispute.opened_by_label, ""),
            "answered_by": labels.get(dispute.answered_by_label, ""),
            "can_answer": dispute.answered_at is None and actor.role in ANSWER_ROLES,
            "answers": [(a.value, a.label) for a in MERCHANT_ANSWERS],
            "text_max": NOTE_MAX_LENGTH,
        },
    )


@never_cache
@login_required
@require_POST
def dispute_answer(request: HttpRequest, dispute_id: int) -> HttpResponse:
    """The answer (`answer`, `text`); back to the page with a message, refused or not."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        dispute_get(actor=actor, dispute_id=dispute_id)
        sku_dispute_answer(
            dispute_id=dispute_id,
            actor=actor,
            answer=request.POST.get("answer", ""),
            text=request.POST.get("text", ""),
            now=clock.now(),
        )
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到这条商品资料核实")}, status=404)
    except DisputeRefused as exc:
        if exc.code == DisputeRefused.ROLE:
            return render(request, "web/refused.html", {"message": dispute_refusal_message(exc)}, status=403)
        messages.error(request, dispute_refusal_message(exc))
    else:
        messages.success(request, _("已答复，仓库会继续处理相关订单"))
    return redirect("web:dispute", dispute_id=dispute_id)
