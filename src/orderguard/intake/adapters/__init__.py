"""The adapter registry: which platform a set of uploaded files comes from, and its reader.

Detection order matters: the JSON formats are told apart by cheap byte checks first
(Douyin ``sku_order_list`` before Shopify ``line_items``), then Taobao (its two reports have
distinctive headers), and the generic layout last, because its Chinese header aliases
(订单编号, 购买数量...) would also match a Taobao item report.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from orderguard.intake.adapters.base import OrderAdapter, SourceFile
from orderguard.intake.adapters.douyin import DouyinAdapter
from orderguard.intake.adapters.generic import GenericAdapter
from orderguard.intake.adapters.shopify import ShopifyAdapter
from orderguard.intake.adapters.taobao import TaobaoAdapter
from orderguard.intake.errors import FileRejected
from orderguard.intake.tabular import read_table, sniff_kind

ADAPTERS: dict[str, OrderAdapter] = {
    "douyin": DouyinAdapter(),
    "shopify": ShopifyAdapter(),
    "taobao": TaobaoAdapter(),
    "generic": GenericAdapter(),
}
_DETECTION_ORDER = ("douyin", "shopify", "taobao", "generic")

__all__ = ["ADAPTERS", "OrderAdapter", "SourceFile", "detect_format", "get_adapter"]


def detect_format(files: list[SourceFile]) -> str:
    """The registry key of the adapter that reads all of `files` together.

    Raises `FileRejected` ``FORMAT_UNKNOWN`` when none does (or `files` is empty), and lets
    through the `FileRejected` of a file that cannot be read at all (``FILE_ENCODING``,
    ``FILE_ZIP_BOMB``...), which says more than "unknown format".
    """
    for file in files:
        if sniff_kind(file) in ("empty", "xls"):
            read_table(file)  # raises FILE_EMPTY / FILE_XLS_UNSUPPORTED: more useful than "unknown"
    for name in _DETECTION_ORDER:
        if ADAPTERS[name].detect(files):
            return name
    names = "、".join(f.name for f in files)
    raise FileRejected(
        file=names,
        code="FORMAT_UNKNOWN",
        message=_(
            "无法识别文件 %(file)s 的格式：支持淘宝/天猫订单报表加宝贝报表、抖店订单 JSON、Shopify 订单 JSON 和 OrderGuard 通用格式"
        )
        % {"file": names or "-"},
    )


def get_adapter(name: str) -> OrderAdapter:
    """The adapter registered under `name`; ``FORMAT_UNKNOWN`` for a name that is not one."""
    try:
        return ADAPTERS[name]
    except KeyError:
        raise FileRejected(
            file="",
            code="FORMAT_UNKNOWN",
            message=_("没有名为 %(name)s 的导入格式") % {"name": name},
        ) from None
