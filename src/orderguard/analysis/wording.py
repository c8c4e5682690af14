"""The report's figures in words, as the page, the PDF and the emails write them (S3)."""

from __future__ import annotations

from django.utils.translation import gettext as _


def duration_text(seconds: int | None) -> str:
    """A handling time for people, as the page writes it: "45 分钟", "3.5 小时", "2.1 天"."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return _("%(n)d 分钟") % {"n": round(seconds / 60)}
    if seconds < 2 * 86400:
        return _("%(n)s 小时") % {"n": f"{seconds / 3600:.1f}"}
    return _("%(n)s 天") % {"n": f"{seconds / 86400:.1f}"}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def breakdown_titles() -> dict[str, str]:
    return {
        "merchant": _("按商家"),
        "platform": _("按平台"),
        "channel": _("按店铺"),
        "sku": _("按商品（缺货）"),
        "province": _("按收货省份"),
        "person": _("按处理人"),
    }
