"""The imports page in a real browser: upload a file with bad rows, read them on the batch page."""

from __future__ import annotations

import pytest
from huey.contrib.djhuey import HUEY

from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)
from orderguard.web.tests.test_imports import generic_with_bad_rows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def immediate_huey():  # type: ignore[no-untyped-def]
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


def test_an_operator_uploads_a_file_with_bad_rows_and_reads_them(page, live_server, channel, immediate_huey):  # noqa: F811
    user_with_role("operator", username="op")
    sign_in(page, live_server, "op")

    page.click("text=导入文件")
    page.select_option("#id_channel", str(channel.pk))
    page.select_option("#id_format", "generic")
    page.set_input_files(
        "#id_uploads",
        files=[{"name": "orders.csv", "mimeType": "text/csv", "buffer": generic_with_bad_rows()}],
    )
    page.click("form.upload button[type=submit]")

    page.wait_for_selector("#status[data-status=done]")
    assert page.locator("#counts tbody td").all_inner_texts() == [
        "1",
        "0",
        "0",
        "2",
        "1",
    ]  # G-1: SKU unknown, a T3 case
    rows = [r.locator("td").all_inner_texts() for r in page.locator("#row-errors tbody tr").all()]
    assert rows == [
        [
            "orders.csv",
            "3",
            "quantity",
            "QUANTITY_INVALID",
            "orders.csv 第 3 行：quantity 应为 1 到 100000 之间的整数，实际是“=cmd”，订单 G-2 未导入",
        ],
        [
            "orders.csv",
            "4",
            "created_at",
            "DATETIME_INVALID",
            "orders.csv 第 4 行：created_at 不是有效的时间（应为 YYYY-MM-DD HH:MM:SS 或 ISO 8601），"
            "实际是“notadate”，订单 G-3 未导入",
        ],
    ]
    assert page.locator("a", has_text="下载 Excel").get_attribute("href").endswith("/errors.xlsx")
