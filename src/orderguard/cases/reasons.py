"""The machine reason codes that events, cases and stock movements carry, in words.

Services record short codes (``transfer_arrived``, ``decision:12``) so that reports and the
API can count them; people read them through `reason_text`. A reason a person typed (a stock
adjustment's "PO-1187", a resolution) is not a code and is shown as it is.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

REASON_LABELS: dict[str, Promise] = {
    # a case closed by the checks or the stock (cases.services.CloseReason, H1.3)
    "recheck_passed": _("复核通过"),
    "order_not_ready": _("订单不再发货"),
    "stock_arrived": _("库存已到"),
    "transfer_arrived": _("调拨已到货"),
    "lines_changed": _("已修改商品"),
    "merged": _("与手工订单合并"),
    "incident_resolved": _("故障已恢复"),
    # a merchant's decision on a short SKU (H1.2)
    "merchant_transfer": _("商家决定调拨"),
    "merchant_substitute": _("商家决定换货"),
    "merchant_partial": _("商家决定部分发货"),
    "merchant_cancel": _("商家决定取消订单"),
    # special requests (H5)
    "buyer_declined": _("买家不接受"),
    "dispatched": _("已发货"),
    "alternative_accepted": _("买家接受替代方案"),
    "alternative_declined": _("买家不接受替代方案"),
    # a person's action on the case
    "resolve": _("人工解决"),
    "cancel": _("人工取消"),
    # stock movements (D1)
    "order_ready": _("订单可发货"),
    "stock_import": _("库存文件导入"),
    "shipped_on_platform": _("平台已发货"),
    "order_updated": _("订单已更新"),
    "order_corrected": _("订单已更正"),
    "admin": _("后台调整"),
}

# codes with a record's id after a colon: ``decision:12``
REFERENCE_LABELS: dict[str, Promise] = {
    "decision": _("商家决定 #%(id)s"),
    "transfer": _("调拨 #%(id)s"),
    "transfer_cancelled": _("调拨 #%(id)s 已取消"),
}


def reason_text(code: str | None) -> str:
    """`code` in the active language; text that is not a known code comes back unchanged."""
    if not code:
        return ""
    label = REASON_LABELS.get(code)
    if label is not None:
        return str(label)
    kind, sep, ref = code.partition(":")
    if sep and ref.isdigit() and kind in REFERENCE_LABELS:
        return str(REFERENCE_LABELS[kind]) % {"id": ref}
    return code
