from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    TAOBAO = "taobao", _("淘宝/天猫")
    JD = "jd", _("京东")
    PINDUODUO = "pinduoduo", _("拼多多")
    DOUYIN = "douyin", _("抖音")
    SHOPIFY = "shopify", _("Shopify")
    OTHER = "other", _("其他")


class OrderStatus(models.TextChoices):
    """The warehouse's view of an order (the platform's own status is kept beside it)."""

    RECEIVED = "received", _("已接收")
    READY = "ready", _("可发货")
    ON_HOLD = "on_hold", _("异常挂起")
    NOT_READY = "not_ready", _("平台未就绪")  # unpaid, refunding or closed on the platform
    SHIPPED = "shipped", _("已发货")
    CANCELLED = "cancelled", _("已取消")


class OrderEventType(models.TextChoices):
    IMPORTED = "imported", _("导入")
    UPDATED = "updated", _("平台更新")
    CORRECTED = "corrected", _("收货信息更正")
    CHECKED = "checked", _("校验")
    ALLOCATED = "allocated", _("已分配库存")
    ALLOCATION_SHORT = "allocation_short", _("库存不足")
    RELEASED = "released", _("释放库存")
    STATUS_CHANGED = "status_changed", _("状态变更")
    ANONYMISED = "anonymised", _("清除个人信息")
    # B3: an order entered by hand and the platform's copy of it became one order
    MERGED = "merged", _("手工单合并")
