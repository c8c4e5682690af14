"""Choices shared by several domains (they sit in core so that lower apps need not import upward)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExceptionType(models.TextChoices):
    """T1..T5 of REQUIREMENTS.md."""

    OUT_OF_STOCK = "T1", _("缺货")
    RECIPIENT_ERROR = "T2", _("收货信息错误")
    PRODUCT_ERROR = "T3", _("商品信息错误")
    SYSTEM_FAULT = "T4", _("系统故障")
    SPECIAL_REQUEST = "T5", _("特殊需求")


class DetectionSource(models.TextChoices):
    """D1..D5 of REQUIREMENTS.md, plus a case opened by hand."""

    STOCK_ALERT = "D1", _("库存预警")
    IMPORT_CHECK = "D2", _("导入校验")
    MONITORING = "D3", _("系统监测")
    SAMPLE_AUDIT = "D4", _("订单抽检")
    SERVICE_REPORT = "D5", _("客服反馈")
    MANUAL = "manual", _("人工创建")


class Severity(models.TextChoices):
    """A blocking finding holds the order and opens a case; a warning is only recorded."""

    BLOCKING = "blocking", _("阻断")
    WARNING = "warning", _("提示")
