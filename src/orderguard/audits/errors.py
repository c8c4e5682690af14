from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from orderguard.core.errors import DomainError


class AuditRefused(DomainError):
    """An audit action refused, nothing written. `code`: ``ROLE`` (the role may not do it),
    ``SHARE_INVALID`` (share outside 0–100 %), ``COUNT_INVALID`` (minimum above maximum, or a
    negative count), ``WEIGHT_INVALID`` (an unknown factor or a weight outside 0–100),
    ``DAY_INVALID`` (a day in the future), ``ITEM_MISSING`` / ``RESULT_INVALID`` /
    ``NOTE_REQUIRED`` / ``NOTE_INVALID`` naming `field` (a checklist item), ``LINE_CONFIRMED``
    (the line was confirmed already)."""

    def __init__(self, *, code: str, field: str = "", **data: Any) -> None:
        super().__init__(code, field=field, **data)
        self.code = code
        self.field = field


def audit_error_message(exc: AuditRefused) -> str:
    """The refusal in words for people."""
    return {
        "ROLE": _("你的角色不能执行这个抽检操作"),
        "SHARE_INVALID": _("抽检比例必须在 0 到 100% 之间"),
        "COUNT_INVALID": _("抽检数量无效：最少数不能大于最多数"),
        "WEIGHT_INVALID": _("风险权重无效：只能是 0 到 100 之间的数"),
        "DAY_INVALID": _("不能抽检未来的日期"),
        "ITEM_MISSING": _("请为每个检查项选择通过或不通过"),
        "RESULT_INVALID": _("检查结果只能是通过或不通过"),
        "NOTE_REQUIRED": _("与系统建议不同的结果请填写说明"),
        "NOTE_INVALID": _("说明过长或含有不允许的字符"),
        "LINE_CONFIRMED": _("这笔抽检订单已经确认过了"),
    }.get(exc.code, exc.code)
