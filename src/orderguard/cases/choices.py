from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    IN_PROGRESS = "in_progress", _("处理中")
    WAITING = "waiting", _("等待回复")
    RESOLVED = "resolved", _("已解决")
    CANCELLED = "cancelled", _("已取消")


OPEN_STATUSES = frozenset({CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.WAITING})


class CaseOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失败")
    CANCELLED = "cancelled", _("取消")


class CaseEventType(models.TextChoices):
    OPENED = "opened", _("创建")
    FINDINGS_CHANGED = "findings_changed", _("问题更新")
    STATUS_CHANGED = "status_changed", _("状态变更")
    ASSIGNED = "assigned", _("指派")
    NOTE = "note", _("备注")
    NOTIFIED = "notified", _("已通知")
    RESOLVED = "resolved", _("已解决")
    REOPENED = "reopened", _("重新打开")
    REVEALED = "revealed", _("查看收件人信息")
    SLA_WARNED = "sla_warned", _("临近超时提醒")
    SLA_OVERDUE = "sla_overdue", _("超时提醒")
    ESCALATED = "escalated", _("超时升级")
    CONTACTED = "contacted", _("联系记录")
    # T1 stock-outs (H1): the merchant's decision, and a stock move that serves the order
    DECIDED = "decided", _("商家决定")
    STOCK_MOVED = "stock_moved", _("库存变动")
    # T3 product errors (H3): the order's lines changed, a SKU disputed with the merchant
    LINES_CHANGED = "lines_changed", _("修改商品")
    SKU_DISPUTED = "sku_disputed", _("商品资料待核实")
    # T5 special requests (H5): feasibility, quote, buyer's confirmation, the owner's checklist
    FEASIBILITY = "feasibility", _("可行性评估")
    QUOTED = "quoted", _("报价")
    CONFIRMED = "confirmed", _("买家确认")
    CHECKLIST = "checklist", _("核对清单")
    # T4 faults (H4), audits (D4) and customer-service reports (D5)
    INCIDENT = "incident", _("故障关联")
    MERGED = "merged", _("手工单合并")
    AUDITED = "audited", _("抽检")
    REPORTED = "reported", _("客服反馈")
    # S1/S3: the case moved on to a handling step (after its opening), with the step's deadline;
    # the analysis measures each step's time from these
    STEP_STARTED = "step_started", _("进入环节")


class WaitingOn(models.TextChoices):
    """Whom a waiting case waits for."""

    BUYER = "buyer", _("买家")
    MERCHANT = "merchant", _("商家")
