"""The handling steps of the SLA policies (`sla.services.FIRST_STEP` and the steps each
machine moves to), in words: the case page, the queue and the reports name them so."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# in the order a case meets them
STEP_LABELS: dict[str, Promise] = {
    "notify_merchant": _("通知商家"),
    "merchant_decision": _("等待商家决定"),
    "restock": _("等待补货"),
    "in_transit": _("调拨在途"),
    "contact_buyer": _("联系买家"),
    "confirm_with_buyer": _("与买家确认"),
    "merchant_answer": _("等待商家核实商品资料"),
    "triage": _("故障排查"),
    "assess_feasibility": _("评估可行性"),
    "quote": _("向买家报价"),
    "buyer_confirmation": _("等待买家确认"),
    "assign_owner": _("指定负责人"),
    "fulfil": _("拣货、打包、发货"),
    "offer_alternative": _("提供替代方案"),
}


_ORDER = {step: i for i, step in enumerate(STEP_LABELS)}


def step_rank(step: str) -> tuple[int, str]:
    """Where a step comes in the handling (STEP_LABELS lists them in that order; an unknown
    step after them): the reports list a type's steps so."""
    return _ORDER.get(step, len(_ORDER)), step


def step_text(step: str) -> str:
    """`step` in the active language (an unknown step as it is)."""
    label = STEP_LABELS.get(step)
    return str(label) if label is not None else step
