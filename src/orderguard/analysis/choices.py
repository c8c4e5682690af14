from django.db import models
from django.utils.translation import gettext_lazy as _


class Dim(models.TextChoices):
    """What a `DailyStat` row is broken down by (S3). `total` rows (key blank) carry the
    handling-time histograms; the others carry sums only."""

    TOTAL = "total", _("合计")
    SOURCE = "source", _("发现方式")
    CHANNEL = "channel", _("渠道")
    PROVINCE = "province", _("省份")
    ASSIGNEE = "assignee", _("处理人")
    SKU = "sku", _("商品")
    STEP = "step", _("环节")
