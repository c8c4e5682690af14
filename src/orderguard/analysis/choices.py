from django.db import models
from django.utils.translation import gettext_lazy as _


class Dim(models.TextChoices):
    """What a `DailyStat` row is broken down by (S3). `total` rows (key blank) carry the
    handling-time histograms, `step` rows those of the time spent in the step; the others
    carry sums only."""

    TOTAL = "total", _("合计")
    SOURCE = "source", _("发现方式")
    CHANNEL = "channel", _("渠道")
    PROVINCE = "province", _("省份")
    ASSIGNEE = "assignee", _("处理人")
    SKU = "sku", _("商品")
    STEP = "step", _("环节")


class FindingKind(models.TextChoices):
    """What a finding of the analysis is about (S3), and so what an action on it measures."""

    SKU_STOCKOUTS = "sku_stockouts", _("商品反复缺货")
    CHANNEL_FAULTS = "channel_faults", _("渠道反复故障")
    AREA_ADDRESS_ERRORS = "area_address_errors", _("地区地址错误多")
    MERCHANT_ADDRESS_ERRORS = "merchant_address_errors", _("商家地址错误多")


class ActionStatus(models.TextChoices):
    PLANNED = "planned", _("计划中")
    IN_PROGRESS = "in_progress", _("进行中")
    DONE = "done", _("已完成")
    DROPPED = "dropped", _("已放弃")
