"""The analysis page, its downloads and the API (S3): the hand-made history's figures as the
page, the CSV, the XLSX and the JSON show them; empty periods, refused periods and another
merchant's report."""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import re
from datetime import date
from urllib.parse import urlencode

import pytest
from django.test import Client
from openpyxl import load_workbook

from orderguard.analysis.advice import findings_build
from orderguard.analysis.periods import Period
from orderguard.analysis.rollup import rollup_rebuild
from orderguard.analysis.selectors import period_sums, report_build, report_scope
from orderguard.analysis.tests.handmade import make_history
from orderguard.analysis.tests.test_advice import _history
from orderguard.cases.models import ExceptionCase
from orderguard.catalog.tests.factories import BundleItemFactory, SkuFactory
from orderguard.orders.models import Order
from orderguard.orders.tests.factories import OrderLineFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.models import Merchant
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.reports import _finding_link, _Links

pytestmark = pytest.mark.django_db
WEEK = "from=2026-11-16&to=2026-11-22"


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


def _cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of one table of the page."""
    import re

    body = html.split(f'id="{table_id}"', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    return [
        [
            re.sub(r"<[^>]+>|\s+", " ", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        ]
        for row in rows
    ]


def test_the_page_shows_the_weeks_figures_charts_and_links_to_the_queue(boss):
    make_history()

    response = boss.get(f"/reports/?{WEEK}")

    assert response.status_code == 200
    html = response.content.decode()
    assert _cells(html, "report-types")[:2] == [
        [
            "缺货",
            "2",
            "40.0%",
            "0",
            "—",
            "2",
            "50.0%",
            "12.2 小时",
            "29 分钟",
            "22.1 小时",
            "4.8 小时",
            "29 分钟",
            "9.3 小时",
        ],
        [
            "收货信息错误",
            "3",
            "60.0%",
            "2",
            "50.0%",
            "2",
            "50.0%",
            "1.8 小时",
            "59 分钟",
            "2.3 小时",
            "1.8 小时",
            "59 分钟",
            "2.3 小时",
        ],
    ]
    assert _cells(html, "report-steps") == [
        ["缺货", "通知商家", "2", "2", "0", "100.0%", "0", "0"],
        ["缺货", "等待商家决定", "1", "0", "1", "0.0%", "0", "0"],
        ["收货信息错误", "联系买家", "2", "1", "1", "50.0%", "1", "0"],
    ]
    # time spent per step (analysis/tests/test_report.py works the seconds out)
    assert _cells(html, "report-step-times") == [
        ["缺货", "通知商家", "2", "25 分钟", "21 分钟", "29 分钟", "25 分钟", "21 分钟", "29 分钟"],
        [
            "缺货",
            "等待商家决定",
            "1",
            "23.7 小时",
            "22.1 小时",
            "22.1 小时",
            "8.7 小时",
            "9.3 小时",
            "9.3 小时",
        ],
        [
            "收货信息错误",
            "联系买家",
            "2",
            "1.8 小时",
            "59 分钟",
            "2.3 小时",
            "1.8 小时",
            "59 分钟",
            "2.3 小时",
        ],
    ]
    assert _cells(html, "report-merchant") == [
        ["甲商家", "3", "3", "2", "66.7%", "9.2 小时"],
        ["乙商家", "2", "1", "0", "0.0%", "30 分钟"],
    ]
    assert _cells(html, "report-person")[1] == ["未指派", "2", "1", "0", "0.0%", "30 分钟"]
    week = "status=all&amp;opened_from=2026-11-16&amp;opened_to=2026-11-22"
    assert f'href="/queue/?type=T2&amp;{week}"' in html
    assert f'href="/queue/?channel=a-tmall&amp;{week}"' in html
    assert f'href="/queue/?assignee=none&amp;{week}"' in html
    chart = json.loads(
        html.split('id="report-chart-data" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert chart["opened"] == [2, 3, 0, 0, 0]
    assert chart["series"][1] == {"name": "收货信息错误", "data": [2, 0, 1, 0, 0, 0, 0]}
    assert "vendor/echarts/echarts.min.js" in html


def test_a_period_without_cases_says_so_and_draws_no_chart(boss):
    make_history()

    response = boss.get("/reports/?from=2026-10-01&to=2026-10-31")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="report-empty"' in html and "该时段没有新增或关闭的异常单。" in html
    assert "report-chart-data" not in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2099-01-01&to=2099-01-31", "所选时段尚未开始：开始日期晚于今天"),
        ("from=2026-11-20&to=2026-11-10", "开始日期晚于结束日期"),
        ("from=2024-01-01&to=2026-01-01", "时段最长 366 天，请缩短范围"),
        ("from=2026-11-99", "日期无效，格式应为 YYYY-MM-DD（from）"),
    ],
)
def test_a_refused_period_is_a_clear_message_on_the_page(boss, query, message):
    response = boss.get(f"/reports/?{query}")

    assert response.status_code == 400
    html = response.content.decode()
    assert f'<p class="error" role="alert" id="report-error">{message}</p>' in html
    assert 'id="report-form"' in html


def test_a_merchant_user_sees_its_own_report_and_is_refused_another_merchants(shop_b):
    own = shop_b.get(f"/reports/?{WEEK}")
    other = shop_b.get(f"/reports/?{WEEK}&merchant=hand-a")

    assert own.status_code == 200
    html = own.content.decode()
    assert 'id="report-merchant"' not in html and 'id="report-person"' not in html
    assert _cells(html, "report-types")[0][:2] == ["缺货", "1"]
    assert other.status_code == 403
    assert "你只能查看本商家的报表" in other.content.decode()
    assert shop_b.get(f"/reports/export.csv?{WEEK}&merchant=hand-a").status_code == 403
    assert (
        shop_b.get(f"/api/v1/reports?{WEEK}&merchant=hand-a").json()["error"]["code"]
        == "REPORT_OTHER_MERCHANT"
    )


def test_the_csv_download_holds_every_table_with_formulas_neutralised(boss):
    make_history()
    Merchant.objects.filter(code="hand-b").update(name='=HYPERLINK("http://x")')

    response = boss.get(f"/reports/export.csv?{WEEK}")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="report-all-2026-11-16-2026-11-22.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[:3] == [["时段"], ["开始日期", "结束日期", "商家"], ["2026-11-16", "2026-11-22", "全仓"]]
    t1 = next(r for r in rows if r[:2] == ["T1", "缺货"])
    assert t1 == [
        "T1",
        "缺货",
        "2",
        "40.0",
        "0",
        "",
        "2",
        "1",
        "0",
        "1",
        "50.0",
        "44100",
        "1761",
        "79678",
        "17100",
        "1761",
        "33500",
    ]
    merchants = rows[rows.index(["按商家"]) + 2 : rows.index(["按商家"]) + 4]
    assert merchants[1][:3] == ["hand-b", '\'=HYPERLINK("http://x")', "2"]


def test_the_xlsx_download_has_a_sheet_per_table(boss):
    make_history()
    Merchant.objects.filter(code="hand-a").update(name="@SUM(1)")

    response = boss.get(f"/reports/export.xlsx?{WEEK}")

    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "时段",
        "按类型",
        "按发现方式",
        "各环节时效与用时",
        "按商家",
        "按平台",
        "按店铺",
        "按商品（缺货）",
        "按收货省份",
        "按处理人",
    ]
    assert [c.value for c in book["按类型"][3]][:4] == ["T2", "收货信息错误", 3, 60]
    # the merchant's decision of c3: 1 timed, 85200 s of clock time, 31200 s of working time
    assert [c.value for c in book["各环节时效与用时"][3]][:2] == ["T1", "merchant_decision"]
    assert [c.value for c in book["各环节时效与用时"][3]][8:] == [1, 85200, 79678, 79678, 31200, 33500, 33500]
    assert [c.value for c in book["按商家"][2]][:3] == ["hand-a", "'@SUM(1)", 3]


def test_the_api_answers_the_report_and_refuses_bad_periods_naming_the_field(boss):
    make_history()

    ok = boss.get(f"/api/v1/reports?{WEEK}&merchant=hand-a")
    future = boss.get("/api/v1/reports?from=2099-01-01")
    unknown = boss.get(f"/api/v1/reports?{WEEK}&merchant=nobody")
    misspelt = boss.get(f"/api/v1/reports?{WEEK}&merchnat=hand-a")

    body = ok.json()
    assert body["period"] == {"from": "2026-11-16", "to": "2026-11-22", "days": 7}
    assert body["merchant"] == {"code": "hand-a", "name": "甲商家"}
    assert (body["totals"]["opened"], body["totals"]["closed"], body["totals"]["success_rate"]) == (
        3,
        3,
        66.7,
    )
    assert [t["opened"] for t in body["types"]] == [1, 2, 0, 0, 0]
    decision = next(s for s in body["steps"] if s["step"] == "merchant_decision")
    assert (decision["step_label"], decision["timed"], decision["handling"], decision["working"]) == (
        "等待商家决定",
        1,
        {"mean": 85200, "median": 79678, "p90": 79678},
        {"mean": 31200, "median": 33500, "p90": 33500},
    )
    assert future.status_code == 400
    assert future.json()["error"] == {
        "code": "PERIOD_INVALID",
        "message": "所选时段尚未开始：开始日期晚于今天",
        "field": "from",
    }
    assert unknown.status_code == 404
    assert (misspelt.status_code, misspelt.json()["error"]["field"]) == (422, "merchnat")


def test_the_report_reads_a_fixed_number_of_queries(django_assert_num_queries):
    make_history()
    boss = actor_for(user_with_role("manager", username="counter"))
    scope = report_scope(actor=boss)

    week = Period(first=date(2026, 11, 16), last=date(2026, 11, 22))

    # the totals, the previous period, sources (both periods), steps, the sums of the channels,
    # provinces, SKUs and people (one query) and the merchants' sums, the names of merchants,
    # channels and people, the rollup's state
    with django_assert_num_queries(10):
        report_build(scope=scope, period=week, actor=boss)

    # the findings read the same sums: only the names, stock levels, demand and incidents
    # behind the findings are added (none in this week)
    sums = period_sums(scope, week)
    with django_assert_num_queries(8):
        report_build(scope=scope, period=week, actor=boss, sums=sums)
    with django_assert_num_queries(0):
        findings_build(scope=scope, period=week, sums=sums)


def test_the_queue_lists_the_open_cases_opened_in_the_linked_period(boss):
    cases = make_history()

    week = boss.get("/queue/?type=T2&opened_from=2026-11-16&opened_to=2026-11-22").content.decode()
    before = boss.get("/queue/?type=T2&opened_to=2026-11-15").content.decode()

    # c5 is the week's one open T2 case; p1 and p2 were opened the week before
    assert f'data-case="{cases["c5"].pk}"' in week
    assert f'data-case="{cases["p1"].pk}"' not in week and f'data-case="{cases["p2"].pk}"' not in week
    assert f'data-case="{cases["p1"].pk}"' in before and f'data-case="{cases["p2"].pk}"' in before
    assert f'data-case="{cases["c5"].pk}"' not in before


def _href(**query: str) -> str:
    return 'href="/queue/?' + urlencode(query).replace("&", "&amp;") + '"'


def test_the_platform_sku_and_province_rows_link_to_the_queue(boss):
    make_history()
    week = {"status": "all", "opened_from": "2026-11-16", "opened_to": "2026-11-22"}

    html = boss.get(f"/reports/?{WEEK}").content.decode()

    platforms = html.split('id="report-platform"', 1)[1].split("</table>", 1)[0]
    for platform in ("taobao", "jd", "douyin"):
        assert _href(platform=platform, **week) in platforms
    assert (
        _href(type="T1", sku="SKU-X", **week) in html.split('id="report-sku"', 1)[1].split("</table>", 1)[0]
    )
    provinces = html.split('id="report-province"', 1)[1].split("</table>", 1)[0]
    for province in ("浙江省", "广东省", "上海市"):
        assert _href(province=province, **week) in provinces


def test_a_merchant_users_report_links_to_its_own_cases_in_the_queue(shop_b):
    week = {"status": "all", "opened_from": "2026-11-16", "opened_to": "2026-11-22"}

    html = shop_b.get(f"/reports/?{WEEK}").content.decode()

    assert _href(platform="douyin", merchant="hand-b", **week) in html
    assert _href(type="T1", sku="SKU-X", merchant="hand-b", **week) in html
    assert _href(province="上海市", merchant="hand-b", **week) in html


def test_the_province_link_lists_the_weeks_open_cases_of_that_province(boss):
    cases = make_history()

    queue = boss.get("/queue/?province=上海市&opened_from=2026-11-16&opened_to=2026-11-22").content.decode()

    # c5 is the week's one open case in 上海市; p2 (上海市 too) was opened the week before
    assert f'data-case="{cases["c5"].pk}"' in queue
    assert f'data-case="{cases["p2"].pk}"' not in queue


def test_a_province_row_without_a_province_has_no_queue_link(boss):
    cases = make_history()
    Order.objects.filter(pk=cases["c5"].order_id).update(province="")
    rollup_rebuild()

    html = boss.get(f"/reports/?{WEEK}").content.decode()

    provinces = html.split('id="report-province"', 1)[1].split("</table>", 1)[0]
    blank = next(row for row in provinces.split("<tr>") if "（未填写）" in row)
    assert "<a " not in blank
    assert (
        _href(province="广东省", status="all", opened_from="2026-11-16", opened_to="2026-11-22") in provinces
    )


def test_the_findings_orders_affected_link_to_the_queue(boss):
    _history()
    week = {"status": "all", "opened_from": "2026-11-16", "opened_to": "2026-11-22"}

    html = boss.get(f"/reports/?{WEEK}").content.decode()

    findings = html.split('id="report-findings"', 1)[1].split("</table>", 1)[0]
    rows = {row.split('"', 1)[0]: row for row in findings.split('data-kind="')[1:]}
    assert _href(type="T1", sku="SKU-R", merchant="adv-a", **week) in rows["sku_stockouts"]
    assert _href(type="T4", channel="adv-jd", **week) in rows["channel_faults"]
    assert _href(type="T2", province="浙江省", **week) in rows["area_address_errors"]
    assert _href(type="T2", merchant="adv-b", **week) in rows["merchant_address_errors"]


def test_a_findings_link_lists_the_cases_behind_it(boss):
    _history()
    t1 = ExceptionCase.objects.filter(type="T1").values_list("pk", flat=True)
    t2 = ExceptionCase.objects.filter(type="T2").values_list("pk", flat=True)

    queue = boss.get(
        "/queue/?type=T1&sku=SKU-R&merchant=adv-a&opened_from=2026-11-16&opened_to=2026-11-22"
    ).content.decode()

    assert len(t1) == 4 and all(f'data-case="{pk}"' in queue for pk in t1)
    assert not any(f'data-case="{pk}"' in queue for pk in t2)


def test_an_audit_finding_links_to_the_audits_cases_and_a_finding_without_subject_has_none():
    link = _Links({"from": "2026-11-16", "to": "2026-11-22"}, "")
    audit = {"kind": "audit_failures", "subject": "adv-b", "merchant": "adv-b"}

    assert _finding_link(audit, link=link) == (
        "/queue/?source=D4&merchant=adv-b&status=all&opened_from=2026-11-16&opened_to=2026-11-22"
    )
    assert _finding_link({**audit, "subject": ""}, link=link) == ""
    stockout = {"kind": "sku_stockouts", "subject": "SKU-R", "merchant": ""}
    assert _finding_link(stockout, link=link) == ""


def test_a_merchant_users_findings_link_to_its_own_cases():
    _history()
    week = {"status": "all", "opened_from": "2026-11-16", "opened_to": "2026-11-22"}
    client = Client()
    client.force_login(
        user_with_role("merchant", merchant=Merchant.objects.get(code="adv-b"), username="shop-adv-b")
    )

    html = client.get(f"/reports/?{WEEK}").content.decode()

    findings = html.split('id="report-findings"', 1)[1].split("</table>", 1)[0]
    rows = {row.split('"', 1)[0]: row for row in findings.split('data-kind="')[1:]}
    assert set(rows) == {"channel_faults", "area_address_errors"}
    assert _href(type="T4", channel="adv-jd", merchant="adv-b", **week) in rows["channel_faults"]
    assert _href(type="T2", province="浙江省", merchant="adv-b", **week) in rows["area_address_errors"]


def _queue_rows(client: Client, url: str) -> list[int]:
    """The cases a queue link lists, every page followed."""
    seen: list[int] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        seen += [int(i) for i in re.findall(r'<tr data-case="(\d+)"', html)]
        found = re.search(r'<a href="(\?[^"]+)" rel="next">', html)
        url = "/queue/" + found.group(1).replace("&amp;", "&") if found else ""
    return seen


def test_every_linked_number_of_the_report_is_the_number_of_cases_its_queue_link_lists(boss):
    cases = make_history()
    # the report counts a stock-out under its finding's SKU, the queue under its order's lines:
    # as on a real order, the SKU that is out of stock is one of the order's lines
    for key in ("c3", "c4"):
        OrderLineFactory(order=cases[key].order, sku_code="SKU-X")
    page = boss.get(f"/reports/?{WEEK}").content.decode()
    body = page.split('id="report-totals"', 1)[1].split('id="report-findings"', 1)[0]
    links = re.findall(r'<a href="(/queue/\?[^"]+)" title="[^"]*">(\d+)</a>', body)

    checked = {}
    for href, shown in links:
        url = html_lib.unescape(href)
        rows = _queue_rows(boss, url)
        assert len(rows) == len(set(rows)) == int(shown), url
        checked[url] = len(rows)
    # the totals, the type table (new, closed), sources and the six breakdowns (new, closed,
    # succeeded) all link
    assert len(links) >= 40
    assert checked["/queue/?status=all&opened_from=2026-11-16&opened_to=2026-11-22"] == 5
    assert checked["/queue/?status=closed&closed_from=2026-11-16&closed_to=2026-11-22"] == 4
    assert checked["/queue/?status=closed&closed_from=2026-11-16&closed_to=2026-11-22&outcome=cancelled"] == 1
    assert checked["/queue/?type=T2&status=closed&closed_from=2026-11-16&closed_to=2026-11-22"] == 2
    assert checked["/queue/?type=T1&status=all&opened_from=2026-11-16&opened_to=2026-11-22"] == 2


def test_the_type_rows_link_the_new_count_to_every_case_opened_and_the_closings_to_those_closed(boss):
    cases = make_history()

    html = boss.get(f"/reports/?{WEEK}").content.decode()
    t2 = html.split('data-type="T2"', 1)[1].split("</tr>", 1)[0]
    opened = _queue_rows(boss, "/queue/?type=T2&status=all&opened_from=2026-11-16&opened_to=2026-11-22")
    closed = _queue_rows(boss, "/queue/?type=T2&status=closed&closed_from=2026-11-16&closed_to=2026-11-22")

    assert _href(type="T2", status="all", opened_from="2026-11-16", opened_to="2026-11-22") in t2
    assert _href(type="T2", status="closed", closed_from="2026-11-16", closed_to="2026-11-22") in t2
    # c1 and c2 closed, c5 still open; p1 was opened the week before
    assert opened == [cases["c5"].pk, cases["c2"].pk, cases["c1"].pk]
    assert closed == [cases["c2"].pk, cases["c1"].pk]
    assert "在工作队列中查看其中未结的异常单" not in html


def test_a_merchant_user_following_its_reports_links_sees_only_its_cases(shop_b):
    html = shop_b.get(f"/reports/?{WEEK}").content.decode()
    b_cases = set(ExceptionCase.objects.filter(merchant__code="hand-b").values_list("pk", flat=True))

    closed = _queue_rows(
        shop_b, "/queue/?merchant=hand-b&status=closed&closed_from=2026-11-16&closed_to=2026-11-22"
    )
    everything = _queue_rows(shop_b, "/queue/?merchant=hand-a&status=all")

    assert _href(merchant="hand-b", status="closed", closed_from="2026-11-16", closed_to="2026-11-22") in html
    assert len(closed) == 1 and set(closed) <= b_cases
    assert set(everything) == b_cases


def test_the_step_rows_link_their_completed_and_timed_counts_to_the_cases_closed_through_the_step(boss):
    cases = make_history()
    closed = {"status": "closed", "closed_from": "2026-11-16", "closed_to": "2026-11-22"}

    html = boss.get(f"/reports/?{WEEK}").content.decode()

    steps = html.split('id="report-steps"', 1)[1].split("</table>", 1)[0]
    times = html.split('id="report-step-times"', 1)[1].split("</table>", 1)[0]
    told = _href(type="T1", step="notify_merchant", **closed)
    decided = _href(type="T1", step="merchant_decision", **closed)
    assert f"{told} " in steps and f"{decided} " in steps
    assert f"{told} " in times and f"{decided} " in times
    # c3 was told then decided; c4 was cancelled while the merchant was being told
    assert sorted(_queue_rows(boss, html_lib.unescape(told[6:-1]))) == sorted(
        [cases["c3"].pk, cases["c4"].pk]
    )
    assert _queue_rows(boss, html_lib.unescape(decided[6:-1])) == [cases["c3"].pk]
    decided_row = next(r for r in _cells(html, "report-steps") if r[1] == "等待商家决定")
    assert decided_row[2:5] == ["1", "0", "1"]


def test_a_stockout_of_a_bundles_order_is_listed_under_its_components_sku(boss):
    cases = make_history()
    # c3's order holds a bundle of SKU-X; c4's holds SKU-X itself
    merchant = cases["c3"].merchant
    component = SkuFactory(merchant=merchant, code="SKU-X")
    bundle = SkuFactory(merchant=merchant, code="BOX-X", is_bundle=True)
    BundleItemFactory(bundle=bundle, component=component, quantity=2)
    OrderLineFactory(order=cases["c3"].order, sku=bundle)
    OrderLineFactory(order=cases["c4"].order, sku_code="SKU-X")
    week = {"status": "all", "opened_from": "2026-11-16", "opened_to": "2026-11-22"}

    html = boss.get(f"/reports/?{WEEK}").content.decode()

    skus = html.split('id="report-sku"', 1)[1].split("</table>", 1)[0]
    href = _href(type="T1", sku="SKU-X", **week)
    assert f'{href} title="在工作队列中查看时段内新增的这些异常单（含已结）">2</a>' in skus
    assert sorted(_queue_rows(boss, html_lib.unescape(href[6:-1]))) == sorted(
        [cases["c3"].pk, cases["c4"].pk]
    )


def test_a_steps_timed_count_links_to_its_cases_only_when_it_is_the_completed_count(boss):
    from orderguard.analysis.models import DailyStat

    # two closings went through the step, the times of one of them are known (the other's
    # step was only flagged overdue): the completed count links, the timed count cannot
    DailyStat.objects.create(
        merchant=None,
        day=date(2026, 11, 17),
        case_type="T1",
        dim="step",
        key="notify_merchant",
        steps_closed=2,
        steps_late=1,
        handling_seconds=600,
        working_seconds=600,
        handling_hist={"1": 1},
        working_hist={"1": 1},
    )

    html = boss.get(f"/reports/?{WEEK}").content.decode()

    completed = re.search(r'<td class="num">(<a href="([^"]*)"[^>]*>)?2(</a>)?</td>', html)
    timed = re.search(r'data-step="notify_merchant">.*?<td class="num">(.*?)</td>', html, re.S)
    assert (
        completed is not None
        and completed.group(2) is not None
        and "step=notify_merchant" in completed.group(2)
    )
    assert timed is not None and timed.group(1) == "1"
