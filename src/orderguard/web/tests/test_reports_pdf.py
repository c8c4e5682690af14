"""The analysis report as a PDF (S3, S4): the hand-made history's figures in its text, in the
reader's language, a merchant user's PDF holding its own merchant only, an empty period."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.test import Client
from pypdf import PdfReader

from orderguard.analysis.pdf import report_pdf
from orderguard.analysis.periods import Period
from orderguard.analysis.selectors import report_build, report_scope
from orderguard.analysis.tests.handmade import make_history
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.models import Merchant
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
WEEK = "from=2026-11-16&to=2026-11-22"


def pdf_text(data: bytes) -> str:
    """The PDF's text, one space between words (table cells come out one per line)."""
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


@pytest.fixture
def boss() -> Client:
    client = Client()
    client.force_login(user_with_role("manager", username="boss"))
    return client


@pytest.fixture
def shop_b() -> Client:
    make_history()
    client = Client()
    client.force_login(
        user_with_role("merchant", merchant=Merchant.objects.get(code="hand-b"), username="shop-b")
    )
    return client


def test_the_pdf_holds_the_weeks_figures_for_the_whole_warehouse(boss):
    make_history()

    response = boss.get(f"/reports/export.pdf?{WEEK}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="report-all-2026-11-16-2026-11-22.pdf"'
    text = pdf_text(response.content)
    assert "分析报表：全仓 2026-11-16 — 2026-11-22" in text
    assert "对比 2026-11-09 — 2026-11-15" in text
    # headline: 5 opened (2 the week before), 4 closed: 2 succeeded, 1 failed, 1 cancelled
    assert "5 2 +150.0% 4 2 1 1 50.0% 0" in text
    # shares with the previous period's and the change
    assert "缺货 2 40.0% 0 0.0% — 2 50.0%" in text
    assert "收货信息错误 3 60.0% 2 100.0% +50.0% 2 50.0%" in text
    assert "导入校验 3 60.0% 2 +50.0%" in text
    # handling times: mean, median, p90 in clock time then in working time
    assert "缺货 12.2 小时 29 分钟 22.1 小时 4.8 小时 29 分钟 9.3 小时" in text
    # deadline compliance per step, with the overdue alerts
    assert "收货信息错误 联系买家 2 1 1 50.0% 1 0" in text
    assert "缺货 等待商家决定 1 0 1 0.0% 0 0" in text
    # time per step: timed, then mean, median, p90 in clock time and in working time
    assert "缺货 等待商家决定 1 23.7 小时 22.1 小时 22.1 小时 8.7 小时 9.3 小时 9.3 小时" in text
    assert "缺货 通知商家 2 25 分钟 21 分钟 29 分钟 25 分钟 21 分钟 29 分钟" in text
    # the breakdowns, the success rate's definition and the chart's legend
    assert "甲商家 3 3 2 66.7% 9.2 小时" in text and "乙商家 2 1 0 0.0% 30 分钟" in text
    assert "甲京东 1 1 1 100.0% 24.0 小时" in text and "未指派 2 1 0 0.0% 30 分钟" in text
    assert "成功率：时段内关闭的异常单中结果为“成功”的比例" in text
    assert "本时段 上一时段" in text


def test_a_merchant_users_pdf_holds_its_own_merchant_only(shop_b):
    own = shop_b.get(f"/reports/export.pdf?{WEEK}")
    other = shop_b.get(f"/reports/export.pdf?{WEEK}&merchant=hand-a")

    assert own.status_code == 200
    text = pdf_text(own.content)
    assert "分析报表：乙商家 2026-11-16 — 2026-11-22" in text
    assert "乙抖音 2 1 0 0.0% 30 分钟" in text
    # nothing of hand-a: its name, channels, figures, nor the people's breakdown
    for other_merchants in ("甲商家", "甲天猫", "甲京东", "66.7%", "按商家", "按处理人", "ann", "bob"):
        assert other_merchants not in text
    assert other.status_code == 403
    assert other["Content-Type"].startswith("text/html")


def test_a_refused_period_is_the_pages_refusal_not_a_pdf(boss):
    response = boss.get("/reports/export.pdf?from=2026-11-20&to=2026-11-10")

    assert response.status_code == 400
    assert "开始日期晚于结束日期" in response.content.decode()


def test_an_empty_period_gives_a_pdf_that_says_so(boss):
    make_history()

    response = boss.get("/reports/export.pdf?from=2026-10-01&to=2026-10-31")

    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "分析报表：全仓 2026-10-01 — 2026-10-31" in text
    assert "该时段没有新增或关闭的异常单。" in text


def test_the_pdf_speaks_the_users_language(boss):
    make_history()
    boss.post("/language/", {"language": "en", "next": "/reports/"})
    english = boss.get(f"/reports/export.pdf?{WEEK}")
    boss.post("/language/", {"language": "zh-hant", "next": "/reports/"})
    traditional = boss.get(f"/reports/export.pdf?{WEEK}")

    text = pdf_text(english.content)
    assert "Whole warehouse" in text and "Out of stock 2 40.0%" in text
    assert b"/STSong-Light" in english.content
    assert "全倉" in pdf_text(traditional.content)
    assert b"/MSung-Light" in traditional.content and b"/STSong-Light" not in traditional.content


def test_findings_show_the_safety_stock_formula_and_actions_their_effect():
    make_history()
    boss = actor_for(user_with_role("manager", username="reader"))
    report = report_build(
        scope=report_scope(actor=boss), period=Period(date(2026, 11, 16), date(2026, 11, 22)), actor=boss
    )
    report["findings"] = [
        {
            "kind": "sku_stockouts",
            "subject": "SKU-R",
            "merchant": "hand-a",
            "affected": 7,
            "days": 3,
            "known_sku": True,
            "current_safety_stock": 5,
            "advice": {
                "suggested": 22,
                "z": 1.645,
                "service_level": 0.95,
                "demand_mean": 2.5,
                "demand_std": 1.2,
                "lead_days": 7,
                "days": 7,
            },
        }
    ]
    report["actions"] = [
        {
            "subject": "SKU-R",
            "expected_effect": "将 SKU-R 的安全库存提高到 22",
            "owner": "boss",
            "due_on": "2026-11-30",
            "status_label": "进行中",
            "effect": {"days": 5, "before": 4, "after": 1, "change": -75.0},
        }
    ]

    text = pdf_text(report_pdf(report))

    assert "反复缺货（3 天） SKU-R 7 建议安全库存 22（现为 5）" in text
    assert "z=1.645" in text and "σ=1.2（7 天）" in text and "=2.5" in text
    # written with characters the CID font maps: × for the middle dot, d for d̄
    assert "z×σ×√L + d×L" in text and "日需求均值 d=2.5" in text and "·" not in text
    assert "补货周期 L=7 天" in text
    assert "将 SKU-R 的安全库存提高到 22 boss 2026-11-30 进行中 4 1 -75.0%" in text


def test_the_page_links_the_pdf_beside_the_csv_and_xlsx(boss):
    make_history()

    html = boss.get(f"/reports/?{WEEK}&merchant=hand-a").content.decode()

    query = "from=2026-11-16&amp;to=2026-11-22&amp;merchant=hand-a"
    assert f'href="/reports/export.xlsx?{query}" id="export-xlsx"' in html
    assert f'href="/reports/export.pdf?{query}" id="export-pdf"' in html
