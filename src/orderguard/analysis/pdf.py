"""The report (S3, S4) as a PDF, in the reader's language: the same figures as the page and the
CSV/XLSX downloads (`analysis.selectors.report_build` with the findings and the actions), laid
out for printing and for the scheduled emails (`analysis.delivery`).

Rendered by ReportLab with its built-in CID fonts (STSong-Light for simplified Chinese and
English, MSung-Light for traditional Chinese): the PDF names the font and the reader supplies
it, so no font file is needed on the server. Text is what `gettext` gives in the active
language (the caller activates the reader's).
"""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from orderguard.analysis.selectors import TOP, report_is_empty
from orderguard.analysis.wording import breakdown_titles, definitions, duration_text, percent

SIMPLIFIED_FONT = "STSong-Light"
TRADITIONAL_FONT = "MSung-Light"
# characters the CID fonts' Unicode maps lack, as they can be written instead: the middle dot
# of the formula as a multiplication sign, the bar over d̄ (the mean) left out
CID_SAFE = str.maketrans({"·": "×", "\u0304": ""})


def _font() -> str:
    """The CID font of the active language, registered with ReportLab on first use."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    name = (
        TRADITIONAL_FONT
        if (get_language() or "").lower() in ("zh-hant", "zh-tw", "zh-hk")
        else SIMPLIFIED_FONT
    )
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    return name


def change_text(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def finding_text(f: dict[str, Any]) -> str:
    """What a finding says, as the page words it."""
    if f["kind"] == "sku_stockouts":
        return _("反复缺货（%(days)s 天）") % {"days": f["days"]}
    if f["kind"] == "channel_faults":
        return _("渠道反复故障（%(days)s 天，共 %(minutes)s 分钟）") % {
            "days": f["days"],
            "minutes": f["outage_minutes"],
        }
    if f["kind"] == "area_address_errors":
        return _("该地区地址错误多")
    return _("该商家地址错误多")


def finding_advice(f: dict[str, Any]) -> list[str]:
    """The advice of a finding: for a SKU the suggested safety stock and the formula with its
    inputs."""
    if f["kind"] == "sku_stockouts":
        a = f["advice"]
        current = "—" if f.get("current_safety_stock") is None else f["current_safety_stock"]
        return [
            _("建议安全库存 %(n)s（现为 %(current)s）") % {"n": a["suggested"], "current": current},
            (
                _(
                    "z·σ·√L + d̄·L，z=%(z)s，日需求均值 d̄=%(mean)s，标准差 σ=%(std)s（%(days)s 天），补货周期 L=%(lead)s 天"
                )
                % {
                    "z": a["z"],
                    "mean": a["demand_mean"],
                    "std": a["demand_std"],
                    "days": a["days"],
                    "lead": a["lead_days"],
                }
            ).translate(CID_SAFE),
        ]
    if f["kind"] == "channel_faults":
        return [_("与该平台的技术支持加强对接，复盘故障原因")]
    return [_("提醒商家核对收货信息的采集，或加强导入校验")]


def _time_headers() -> list[str]:
    """The columns of a handling time or a time per step: clock, then working time."""
    return [
        _("平均用时"),
        _("中位数"),
        _("第 90 百分位"),
        _("工作时间：平均"),
        _("中位数"),
        _("第 90 百分位"),
    ]


def _time_cells(row: dict[str, Any]) -> list[str]:
    """A row's mean, median and 90th percentile in clock time, then in working time, in words."""
    return [
        duration_text(row[clock][k]) for clock in ("handling", "working") for k in ("mean", "median", "p90")
    ]


def scope_name(report: dict[str, Any]) -> str:
    return report["merchant"]["name"] if report["merchant"] else _("全仓")


def report_title(report: dict[str, Any]) -> str:
    """ "分析报表：甲商家 2026-11-16 — 2026-11-22"."""
    return _("分析报表：%(scope)s %(first)s — %(last)s") % {
        "scope": scope_name(report),
        "first": report["period"]["from"],
        "last": report["period"]["to"],
    }


def _chart(report: dict[str, Any], font: str, width: float) -> Any:
    """Cases opened per type, this period against the previous one (bars)."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    now = [r["opened"] for r in report["types"]]
    before = [r["previous_opened"] for r in report["types"]]
    drawing = Drawing(width, 190)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 40, width - 160, 130
    chart.data = [now, before]
    chart.categoryAxis.categoryNames = [r["label"] for r in report["types"]]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    top = max([*now, *before, 1])
    chart.valueAxis.valueMax = top + max(1, top // 10)
    chart.valueAxis.valueStep = max(1, (top + 4) // 5)
    chart.bars[0].fillColor = colors.HexColor("#0d6efd")
    chart.bars[1].fillColor = colors.HexColor("#adb5bd")
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 6
    chart.barLabelFormat = "%d"
    chart.barLabels.nudge = 6
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 110, 150
    legend.fontName, legend.fontSize = font, 8
    legend.colorNamePairs = [
        (colors.HexColor("#0d6efd"), _("本时段")),
        (colors.HexColor("#adb5bd"), _("上一时段")),
    ]
    drawing.add(legend)
    return drawing


def report_pdf(report: dict[str, Any]) -> bytes:
    """The report (with `findings` and `actions` when present) as PDF bytes, in the active
    language. An empty period gives a PDF that says so."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    title_style = ParagraphStyle("og-title", fontName=font, fontSize=15, leading=20, spaceAfter=4)
    h2 = ParagraphStyle("og-h2", fontName=font, fontSize=11, leading=15, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("og-body", fontName=font, fontSize=8.5, leading=12)
    cell = ParagraphStyle("og-cell", fontName=font, fontSize=7.5, leading=9.5)
    small = ParagraphStyle(
        "og-small", fontName=font, fontSize=7, leading=9.5, textColor=colors.HexColor("#555")
    )

    def p(text: Any, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    def p_cell(value: Any) -> Paragraph:
        if isinstance(value, list):  # lines of one cell
            return Paragraph("<br/>".join(escape(str(v)) for v in value), cell)
        return p("" if value is None else value, cell)

    def table(header: list[str], rows: list[list[Any]], widths: list[float] | None = None) -> Table:
        data = [[p(h, cell) for h in header]] + [[p_cell(v) for v in r] for r in rows]
        t = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        t.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#adb5bd")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return t

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=report_title(report),
        author="OrderGuard",
    )
    width = A4[0] - 28 * mm
    story: list[Any] = [
        p(report_title(report), title_style),
        p(
            _("对比 %(a)s — %(b)s") % {"a": report["previous"]["from"], "b": report["previous"]["to"]},
            small,
        ),
    ]
    if report_is_empty(report):
        story += [Spacer(1, 6 * mm), p(_("该时段没有新增或关闭的异常单。"), body)]
        doc.build(story)
        return out.getvalue()

    t = report["totals"]
    story += [
        p(_("概况"), h2),
        table(
            [
                _("新增"),
                _("上一时段"),
                _("变化"),
                _("关闭"),
                _("成功"),
                _("失败"),
                _("取消"),
                _("成功率"),
                _("重新打开"),
            ],
            [
                [
                    t["opened"],
                    t["previous_opened"],
                    change_text(t["change"]),
                    t["closed"],
                    t["succeeded"],
                    t["failed"],
                    t["cancelled"],
                    percent(t["success_rate"]),
                    t["reopened"],
                ]
            ],
        ),
        p(_("各类型新增：本时段与上一时段"), h2),
        _chart(report, font, width),
        p(_("按类型"), h2),
        table(
            [
                _("类型"),
                _("新增"),
                _("占比"),
                _("上一时段"),
                _("上一时段占比"),
                _("变化"),
                _("关闭"),
                _("成功率"),
            ],
            [
                [
                    r["label"],
                    r["opened"],
                    percent(r["share"]),
                    r["previous_opened"],
                    percent(r["previous_share"]),
                    change_text(r["change"]),
                    r["closed"],
                    percent(r["success_rate"]),
                ]
                for r in report["types"]
            ],
        ),
        p(_("按发现方式"), h2),
        table(
            [_("发现方式"), _("新增"), _("占比"), _("上一时段"), _("变化")],
            [
                [r["label"], r["opened"], percent(r["share"]), r["previous_opened"], change_text(r["change"])]
                for r in report["sources"]
            ],
        ),
        p(_("处理用时"), h2),
        table(
            [_("类型"), *_time_headers()],
            [
                [
                    r["label"],
                    *_time_cells(r),
                ]
                for r in report["types"]
            ],
        ),
        p(_("时效达成（按环节）"), h2),
    ]
    if report["steps"]:
        story.append(
            table(
                [
                    _("类型"),
                    _("环节"),
                    _("完成环节"),
                    _("按时"),
                    _("超时"),
                    _("按时率"),
                    _("超时提醒"),
                    _("升级"),
                ],
                [
                    [
                        r["type_label"],
                        r["step_label"],
                        r["closed"],
                        r["on_time"],
                        r["late"],
                        percent(r["on_time_share"]),
                        r["overdue_alerts"],
                        r["escalations"],
                    ]
                    for r in report["steps"]
                ],
            )
        )
    else:
        story.append(p(_("该时段没有完成的环节。")))
    story.append(p(_("各环节用时"), h2))
    timed = [r for r in report["steps"] if r["timed"]]
    if timed:
        story.append(
            table(
                [_("类型"), _("环节"), _("计时的环节"), *_time_headers()],
                [
                    [
                        r["type_label"],
                        r["step_label"],
                        r["timed"],
                        *_time_cells(r),
                    ]
                    for r in timed
                ],
            )
        )
    else:
        story.append(p(_("该时段关闭的异常单没有记录各环节的开始时间。")))

    for name, title in breakdown_titles().items():
        rows = report["breakdowns"].get(name) or []
        if not rows or (name == "merchant" and report["merchant"] is not None):
            continue
        unnamed = _("未指派") if name == "person" else _("（未填写）")
        story += [
            p(title, h2),
            table(
                [_("名称"), _("新增"), _("关闭"), _("成功"), _("成功率"), _("平均用时")],
                [
                    [
                        r["name"] or unnamed,
                        r["opened"],
                        r["closed"],
                        r["succeeded"],
                        percent(r["success_rate"]),
                        duration_text(r["handling_mean"]),
                    ]
                    for r in rows[:TOP]
                ],
                [width * 0.4] + [width * 0.12] * 5,
            ),
        ]
        if len(rows) > TOP:
            story.append(p(_("只列出前 %(top)s 行；导出文件包含全部。") % {"top": TOP}, small))

    findings = report.get("findings") or []
    story.append(p(_("规律与建议"), h2))
    if findings:
        story.append(
            table(
                [_("发现"), _("对象"), _("影响订单"), _("建议")],
                [[finding_text(f), f["subject"], f["affected"], finding_advice(f)] for f in findings],
                [width * 0.22, width * 0.16, width * 0.1, width * 0.52],
            )
        )
    else:
        story.append(p(_("该时段没有反复出现的问题。")))

    actions = report.get("actions") or []
    section: list[Any] = [p(_("改进措施"), h2)]
    if actions:
        section += [
            table(
                [
                    _("对象"),
                    _("预期效果"),
                    _("负责人"),
                    _("截止日期"),
                    _("状态"),
                    _("之前"),
                    _("之后"),
                    _("变化"),
                ],
                [
                    [
                        a["subject"],
                        a["expected_effect"],
                        a["owner"],
                        a["due_on"],
                        a["status_label"],
                        a["effect"]["before"],
                        a["effect"]["after"],
                        change_text(a["effect"]["change"]),
                    ]
                    for a in actions
                ],
            ),
            p(
                _("之前／之后：该对象的异常单在措施开始前后各相同天数内的数量（最多 30 天）。"),
                small,
            ),
        ]
    else:
        section.append(p(_("还没有改进措施。")))
    story.append(KeepTogether(section))

    story.append(p(_("口径说明"), h2))
    story += [p("- " + d, small) for d in definitions()]
    doc.build(story)
    return out.getvalue()
