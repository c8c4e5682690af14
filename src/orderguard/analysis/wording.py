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


def definitions() -> list[str]:
    """How the figures are counted (the page's and the PDF's "口径说明")."""
    return [
        _("占比：时段内新增的异常单中各类型（各发现方式）所占比例；变化：与紧挨着的等长上一时段相比。"),
        _(
            "处理用时：从创建到关闭，按时段内的关闭计算（重新打开后再次关闭的，从第一次创建算起）；平均值为精确值，中位数和第 90 百分位按对数分桶估算（误差约百分之九以内）。"
        ),
        _(
            "工作时间：只计订单所在仓库工作日历中的上班时间（上下班时间、工作日、法定节假日和调休），没有日历时按 9:00–18:00 的法定工作日。"
        ),
        _("成功率：时段内关闭的异常单中结果为“成功”的比例（分母为成功、失败和取消之和）。"),
        _(
            "时效达成：时段内关闭的异常单所经过的环节中按时完成的比例；被时效扫描标记超时的环节，以及关闭时已过截止时间的最后一个环节，算作超时。"
        ),
        _(
            "各环节用时：从进入该环节（创建、重新打开，或转入该环节）到进入下一环节或关闭；同一环节进入两次的合计；按时段内的关闭计算，只计最后一次创建或重新打开之后的环节。"
        ),
    ]
