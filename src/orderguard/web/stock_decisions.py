"""The stock-out decision page (H1.2, B4): for a merchant user its SKUs whose orders wait for
stock, with the number of orders, what is available and inbound, and the warehouses that have
the SKU; a form per SKU to decide (transfer, substitute, partial, wait, cancel) for all those
orders but the ones ticked to leave out. Warehouse staff see every merchant's and decide on a
merchant's behalf (customer service, managers, admins). `inventory.decisions` does the work."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from orderguard.core import clock
from orderguard.inventory.decisions import (
    DECISION_ROLES,
    StockDecisionRefused,
    decision_error_message,
    short_skus,
    stock_decision_apply,
    stock_decisions,
)
from orderguard.inventory.models import DecisionKind
from orderguard.orders.models import Order
from orderguard.tenancy.access import usernames_as_seen_by
from orderguard.web.common import actor_or_refuse

DECISIONS_SHOWN = 20


class DecisionForm(forms.Form):
    merchant = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    sku = forms.CharField(max_length=100)
    warehouse = forms.CharField(max_length=50, required=False)
    kind = forms.ChoiceField(choices=DecisionKind.choices)
    from_warehouse = forms.CharField(max_length=50, required=False)
    quantity = forms.CharField(max_length=20, required=False)
    substitute_sku = forms.CharField(max_length=100, required=False)
    buyer_consent = forms.BooleanField(required=False)
    consent_note = forms.CharField(max_length=500, required=False)
    restock_at = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    expected_at = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    note = forms.CharField(max_length=500, required=False)
    exclude = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # any order id may be named; the service checks it is the merchant's
        self.fields["exclude"].valid_value = lambda value: str(value).isdigit()  # type: ignore[attr-defined]


@never_cache
@login_required
@require_GET
def decisions_page(request: HttpRequest) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    now = clock.now()
    skus = short_skus(actor=actor, now=now)
    platform_ids = dict(
        Order.objects.filter(pk__in={pk for s in skus for pk in s.order_ids}).values_list(
            "pk", "platform_order_id"
        )
    )
    decisions = list(stock_decisions(actor=actor)[:DECISIONS_SHOWN])
    # a merchant user sees staff as their role, never their usernames
    names = usernames_as_seen_by(
        actor=actor, usernames={d.decided_by_label.removeprefix("user:") for d in decisions}
    )
    for d in decisions:
        d.decided_by_label = names.get(d.decided_by_label.removeprefix("user:"), d.decided_by_label)
    context = {
        "skus": [(s, [(pk, platform_ids.get(pk, "")) for pk in s.order_ids]) for s in skus],
        "may_decide": actor.role in DECISION_ROLES,
        "kinds": DecisionKind.choices,
        "decisions": decisions,
    }
    return render(request, "web/stock_decisions.html", context)


@never_cache
@login_required
@require_POST
def decision_post(request: HttpRequest) -> HttpResponse:
    """One decision from a SKU's form; a refusal is shown as a message and changes nothing."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if actor.role not in DECISION_ROLES:
        return render(
            request,
            "web/refused.html",
            {"message": _("只有商家用户、客服、仓库主管和管理员可以处理缺货")},
            status=403,
        )
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择处理方式并填写所需信息"))
        return redirect("web:stock_decisions")
    d = form.cleaned_data
    try:
        result = stock_decision_apply(
            actor=actor,
            merchant_id=d["merchant"],
            sku_code=d["sku"].strip(),
            kind=d["kind"],
            now=clock.now(),
            warehouse_code=d["warehouse"].strip(),
            from_warehouse_code=d["from_warehouse"].strip(),
            quantity=d["quantity"].strip() or None,
            substitute_sku_code=d["substitute_sku"].strip(),
            buyer_consent=d["buyer_consent"],
            consent_note=d["consent_note"],
            restock_at=d["restock_at"],
            expected_at=d["expected_at"],
            note=d["note"],
            exclude_order_ids=d["exclude"],
        )
    except StockDecisionRefused as exc:
        messages.error(request, decision_error_message(exc))
        return redirect("web:stock_decisions")
    if result.transfer is not None:
        messages.success(
            request,
            _("已处理 %(orders)d 个订单：调拨 %(quantity)d 件已发出，预计 %(at)s 到货")
            % {
                "orders": len(result.order_ids),
                "quantity": result.transfer.quantity,
                "at": timezone.localtime(result.transfer.expected_at).strftime("%Y-%m-%d %H:%M"),
            },
        )
        return redirect("web:stock_decisions")
    messages.success(
        request,
        _("已处理 %(orders)d 个订单：%(served)d 个已分配到库存，%(cancelled)d 个已取消")
        % {
            "orders": len(result.order_ids),
            "served": len(result.served),
            "cancelled": len(result.cancelled),
        },
    )
    return redirect("web:stock_decisions")
