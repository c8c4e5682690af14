"""The stock page: stock per warehouse and SKU and the latest movements for every role (scoped);
for warehouse operators, managers and admins a form for one move (receipt, adjustment, count,
transfer) and the upload of a file of moves, both all or none (`inventory.services`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from orderguard.cases.reasons import reason_text
from orderguard.core import clock
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.masterdata import stock_moves_import
from orderguard.intake.uploads import upload_max_bytes
from orderguard.inventory.models import TransferStatus
from orderguard.inventory.selectors import stock_figures, stock_levels, stock_movements
from orderguard.inventory.services import (
    STOCK_ROLES,
    MoveIn,
    MoveKind,
    StockMoveRefused,
    move_error_message,
    stock_moves_apply,
)
from orderguard.inventory.transfers import (
    TransferRefused,
    transfer_cancel,
    transfer_error_message,
    transfer_receive,
    transfers_visible,
)
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Merchant
from orderguard.web.common import actor_or_refuse

LEVELS_SHOWN = 200
TRANSFERS_SHOWN = 100
MOVEMENTS_SHOWN = 50
ERRORS_SHOWN = 50
KIND_LABELS = {
    MoveKind.RECEIPT: gettext_lazy("入库"),
    MoveKind.ADJUSTMENT: gettext_lazy("调整"),
    MoveKind.COUNT: gettext_lazy("盘点"),
    MoveKind.TRANSFER: gettext_lazy("调拨"),
}


class MoveForm(forms.Form):
    merchant = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    type = forms.ChoiceField(choices=list(KIND_LABELS.items()))
    warehouse = forms.CharField(max_length=50)
    sku = forms.CharField(max_length=100)
    quantity = forms.CharField(max_length=20)
    to_warehouse = forms.CharField(max_length=50, required=False)
    reason = forms.CharField(max_length=200, required=False)


class UploadForm(forms.Form):
    merchant = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    upload = forms.FileField()


def _may_move(actor: Actor) -> bool:
    return actor.role in STOCK_ROLES


@never_cache
@login_required
@require_GET
def stock_page(request: HttpRequest) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    sku = request.GET.get("sku", "").strip()[:100].replace("\x00", "")
    levels = list(stock_levels(actor=actor, sku=sku)[:LEVELS_SHOWN])
    figures = stock_figures(levels=levels, now=clock.now())
    context = {
        "levels": [(lv, figures[lv.pk]) for lv in levels],
        "movements": [
            (m, reason_text(m.reason))
            for m in stock_movements(actor=actor).select_related("merchant")[:MOVEMENTS_SHOWN]
        ],
        "sku": sku,
        "may_move": _may_move(actor),
        "merchants": Merchant.objects.filter(active=True).order_by("code") if _may_move(actor) else [],
        "kinds": list(KIND_LABELS.items()),
        "transfers": list(
            transfers_visible(actor=actor, status=TransferStatus.IN_TRANSIT, sku=sku)[:TRANSFERS_SHOWN]
        ),
    }
    return render(request, "web/stock.html", context)


def _refuse(request: HttpRequest) -> HttpResponse | None:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if not _may_move(actor):
        return render(
            request,
            "web/refused.html",
            {"message": _("只有仓库操作员、主管和管理员可以调整库存")},
            status=403,
        )
    return None


@never_cache
@login_required
@require_POST
def stock_move(request: HttpRequest) -> HttpResponse:
    """One move from the form; refused input is shown as messages and changes nothing."""
    refused = _refuse(request)
    if refused is not None:
        return refused
    actor = actor_or_refuse(request)
    assert isinstance(actor, Actor)
    form = MoveForm(request.POST)
    merchant = Merchant.objects.filter(pk=form.data.get("merchant") or 0).first() if form.is_valid() else None
    if not form.is_valid() or merchant is None:
        messages.error(request, _("请填写商家、类型、仓库、SKU 和数量"))
        return redirect("web:stock")
    d = form.cleaned_data
    move = MoveIn(
        d["type"],
        d["warehouse"].strip(),
        d["sku"].strip(),
        d["quantity"],
        d["to_warehouse"].strip(),
        d["reason"],
    )
    try:
        result = stock_moves_apply(merchant_id=merchant.pk, moves=[move], now=clock.now(), actor=actor)
    except StockMoveRefused as exc:
        for e in exc.errors:
            messages.error(
                request, f"{e.field}: {move_error_message(e)}" if e.field else move_error_message(e)
            )
        return redirect("web:stock")
    served = len(result.recheck.served) if result.recheck else 0
    messages.success(request, _("库存已更新；%(served)d 个等待中的订单已分配到库存") % {"served": served})
    return redirect("web:stock")


@never_cache
@login_required
@require_POST
def stock_upload(request: HttpRequest) -> HttpResponse:
    """A CSV/XLSX file of moves (docs/formats/stock-moves.md), all or none; each problem is
    shown with its row and field."""
    refused = _refuse(request)
    if refused is not None:
        return refused
    actor = actor_or_refuse(request)
    assert isinstance(actor, Actor)
    form = UploadForm(request.POST, request.FILES)
    merchant = Merchant.objects.filter(pk=form.data.get("merchant") or 0).first() if form.is_valid() else None
    if not form.is_valid() or merchant is None:
        messages.error(request, _("请选择商家和文件"))
        return redirect("web:stock")
    upload = form.cleaned_data["upload"]
    if upload.size > upload_max_bytes():
        messages.error(request, _("文件太大"))
        return redirect("web:stock")
    file = SourceFile(name=upload.name, data=upload.read())
    result, errors = stock_moves_import(file=file, merchant=merchant, actor=actor, now=clock.now())
    if errors:
        messages.error(request, _("文件未导入，没有任何库存变化：%(count)d 处错误") % {"count": len(errors)})
        for e in errors[:ERRORS_SHOWN]:
            messages.error(request, f"{e.message} [{e.field}]" if e.field else e.message)
        return redirect("web:stock")
    assert result is not None
    served = len(result.recheck.served) if result.recheck else 0
    messages.success(
        request,
        _("已导入 %(count)d 条库存变动；%(served)d 个等待中的订单已分配到库存")
        % {"count": len(result.movements), "served": served},
    )
    return redirect("web:stock")


def _transfer_action(request: HttpRequest, transfer_id: int, action: Any, done: str) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        result = action(actor=actor, transfer_id=transfer_id, now=clock.now())
    except TransferRefused as exc:
        if exc.code == "TRANSFER_UNKNOWN":
            raise Http404 from None
        if exc.code == "ROLE":
            return render(request, "web/refused.html", {"message": transfer_error_message(exc)}, status=403)
        messages.error(request, transfer_error_message(exc))
        return redirect("web:stock")
    messages.success(request, done % {"id": result.transfer.pk, "served": len(result.served)})
    return redirect("web:stock")


@never_cache
@login_required
@require_POST
def stock_transfer_receive(request: HttpRequest, transfer_id: int) -> HttpResponse:
    """Warehouse staff confirm a transfer arrived: its stock serves the orders waiting for it
    (`inventory.transfers.transfer_receive`); a refusal is a message and changes nothing."""
    return _transfer_action(
        request, transfer_id, transfer_receive, _("调拨 %(id)s 已到货；%(served)d 个等待中的订单已分配到库存")
    )


@never_cache
@login_required
@require_POST
def stock_transfer_cancel(request: HttpRequest, transfer_id: int) -> HttpResponse:
    """Warehouse staff cancel a transfer in transit: its stock goes back to the source."""
    return _transfer_action(request, transfer_id, transfer_cancel, _("调拨 %(id)s 已取消，库存退回调出仓库"))
