"""Reading uploaded tables safely: encodings, delimiters, row numbers, broken and hostile files."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.errors import FileRejected
from orderguard.intake.tabular import (
    SHANGHAI,
    BadRow,
    cell_text,
    clean_text,
    courier_named_in,
    parse_attributes,
    parse_datetime,
    parse_quantity,
    read_json,
    read_table,
    read_workbook_sheets,
    says_express,
    sniff_kind,
)


def rows_of(file: SourceFile) -> list[object]:
    return list(read_table(file).rows)


def xlsx_bytes(
    rows: list[list[object]], *, title: str = "Sheet1", extra: dict[str, list[list[object]]] | None = None
) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name, more in (extra or {}).items():
        other = workbook.create_sheet(name)
        for row in more:
            other.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rejected(file: SourceFile) -> tuple[str, str, str]:
    with pytest.raises(FileRejected) as info:
        table = read_table(file)
        list(table.rows)
    error = info.value.error
    return error.code, error.file, error.message


# --- CSV encodings and delimiters --------------------------------------------------------------


def test_utf8_bom_csv_strips_bom_header_spaces_and_cells():
    data = "\ufeff订单编号,收货地址 , 数量\r\n A1 , 广东省 广州市 ,2\r\n".encode()

    table = read_table(SourceFile(name="a.csv", data=data))

    assert table.kind == "csv"
    assert table.headers == ["订单编号", "收货地址", "数量"]
    assert list(table.rows) == [(2, {"订单编号": "A1", "收货地址": "广东省 广州市", "数量": "2"})]


def test_gbk_csv_is_decoded_as_gb18030():
    data = "订单编号,收货人姓名\r\n1,张三\r\n2,䶮\r\n".encode("gb18030")

    assert rows_of(SourceFile(name="gbk.csv", data=data)) == [
        (2, {"订单编号": "1", "收货人姓名": "张三"}),
        (3, {"订单编号": "2", "收货人姓名": "䶮"}),
    ]


def test_utf16_unicode_text_export_is_tab_delimited():
    data = "order_id\tsku\tquantity\r\nA1\tSKU-1\t2\r\n".encode("utf-16")  # BOM + UTF-16LE

    table = read_table(SourceFile(name="unicode.txt", data=data))

    assert table.headers == ["order_id", "sku", "quantity"]
    assert list(table.rows) == [(2, {"order_id": "A1", "sku": "SKU-1", "quantity": "2"})]


def test_semicolon_delimiter_is_sniffed():
    data = b"order_id;sku;quantity\nA1;SKU-1;2\n"

    assert rows_of(SourceFile(name="eu.csv", data=data)) == [
        (2, {"order_id": "A1", "sku": "SKU-1", "quantity": "2"})
    ]


def test_undecodable_csv_is_rejected_with_file_encoding():
    data = b"order_id,sku\nA1,\xff\xfe\xfa\n"

    code, file, message = rejected(SourceFile(name="bad.csv", data=data))

    assert (code, file) == ("FILE_ENCODING", "bad.csv")
    assert message == "文件 bad.csv 的编码无法识别：请保存为 UTF-8 或 GBK 编码的 CSV"


def test_binary_named_csv_is_an_encoding_error_and_named_xlsx_is_not_a_spreadsheet():
    noise = bytes(range(256)) * 8

    assert rejected(SourceFile(name="noise.csv", data=noise))[0] == "FILE_ENCODING"
    assert rejected(SourceFile(name="noise.xlsx", data=noise))[:2] == ("FILE_NOT_SPREADSHEET", "noise.xlsx")


# --- row numbers, blank rows, empty files -------------------------------------------------------


def test_row_numbers_count_blank_rows_which_are_skipped():
    data = b"order_id,sku\r\n\r\nA1,S1\r\n,\r\n  ,  \r\nA2,S2\r\n"

    assert rows_of(SourceFile(name="a.csv", data=data)) == [
        (3, {"order_id": "A1", "sku": "S1"}),
        (6, {"order_id": "A2", "sku": "S2"}),
    ]


def test_quoted_cell_with_line_break_is_one_row():
    data = b'order_id,note\r\nA1,"line one\r\nline two"\r\nA2,x\r\n'

    assert rows_of(SourceFile(name="a.csv", data=data)) == [
        (2, {"order_id": "A1", "note": "line one\r\nline two"}),
        (3, {"order_id": "A2", "note": "x"}),
    ]


def test_empty_file_is_rejected():
    assert rejected(SourceFile(name="empty.csv", data=b"")) == (
        "FILE_EMPTY",
        "empty.csv",
        "文件 empty.csv 是空的",
    )
    assert rejected(SourceFile(name="blank.csv", data=b"\xef\xbb\xbf \r\n\r\n"))[0] == "FILE_EMPTY"


def test_headers_only_gives_no_rows():
    table = read_table(SourceFile(name="h.csv", data=b"order_id,sku,quantity\r\n"))

    assert table.headers == ["order_id", "sku", "quantity"]
    assert list(table.rows) == []


def test_duplicate_header_is_rejected():
    code, _file, message = rejected(SourceFile(name="d.csv", data=b"order_id,sku,sku\nA,1,2\n"))

    assert code == "HEADER_DUPLICATE"
    assert message == "文件 d.csv 的表头中列名“sku”出现了不止一次"


# --- truncated and malformed rows --------------------------------------------------------------


def test_file_cut_mid_quote_gives_truncated_last_row_with_its_cells():
    data = b'order_id,sku,note\r\nA1,S1,ok\r\nA2,S2,"cut in the mid'

    rows = rows_of(SourceFile(name="cut.csv", data=data))

    assert rows[0] == (2, {"order_id": "A1", "sku": "S1", "note": "ok"})
    bad = rows[1]
    assert isinstance(bad, BadRow)
    assert bad.row == 3
    assert bad.cells == {"order_id": "A2", "sku": "S2", "note": "cut in the mid"}
    assert (bad.error.file, bad.error.row, bad.error.field, bad.error.code) == (
        "cut.csv",
        3,
        "",
        "ROW_TRUNCATED",
    )
    assert bad.error.message == "cut.csv 第 3 行不完整：引号未闭合就到了文件末尾（文件可能被截断）"
    assert len(rows) == 2


def test_row_with_fewer_cells_than_headers_is_truncated():
    data = b"order_id,sku,quantity\nA1,S1,1\nA2,S2\n"

    bad = rows_of(SourceFile(name="short.csv", data=data))[1]

    assert isinstance(bad, BadRow)
    assert bad.cells == {"order_id": "A2", "sku": "S2"}
    assert (bad.error.row, bad.error.code) == (3, "ROW_TRUNCATED")
    assert bad.error.message == "short.csv 第 3 行不完整：应有 3 列，只有 2 列（文件可能被截断）"


def test_row_with_more_cells_than_headers_is_reported():
    data = "order_id,address,quantity\nA1,广州市,天河区,1\n".encode()

    bad = rows_of(SourceFile(name="wide.csv", data=data))[0]

    assert isinstance(bad, BadRow)
    assert (bad.error.row, bad.error.code) == (2, "ROW_TOO_MANY_CELLS")
    assert bad.cells == {"order_id": "A1", "address": "广州市", "quantity": "天河区"}


def test_trailing_delimiters_are_not_extra_cells():
    data = b"order_id,sku,\nA1,S1,,,\n"

    table = read_table(SourceFile(name="t.csv", data=data))

    assert table.headers == ["order_id", "sku"]
    assert list(table.rows) == [(2, {"order_id": "A1", "sku": "S1"})]


def test_malformed_quote_mid_file_is_reported_and_reading_goes_on():
    data = b'order_id,sku\nA1,"S1"x\nA2,S2\n'

    rows = rows_of(SourceFile(name="q.csv", data=data))

    assert isinstance(rows[0], BadRow)
    assert (rows[0].error.row, rows[0].error.code) == (2, "ROW_MALFORMED")
    assert rows[0].cells["order_id"] == "A1"
    assert rows[1] == (3, {"order_id": "A2", "sku": "S2"})


# --- XLSX ---------------------------------------------------------------------------------------


def test_xlsx_cells_become_text_whole_numbers_without_decimals_and_iso_times():
    data = xlsx_bytes(
        [
            ["order_id", "phone", "quantity", "price", "paid_at", "day", "flag", "empty"],
            ["A1", 13900000001, 2.0, 12.5, datetime(2024, 5, 1, 10, 0, 5), date(2024, 5, 2), True, None],
            [None, None, None],
            ["A2", "'13900000002"],
        ]
    )

    table = read_table(SourceFile(name="orders.xlsx", data=data))

    assert table.kind == "xlsx"
    assert list(table.rows) == [
        (
            2,
            {
                "order_id": "A1",
                "phone": "13900000001",
                "quantity": "2",
                "price": "12.5",
                "paid_at": "2024-05-01T10:00:05",
                "day": "2024-05-02T00:00:00",
                "flag": "TRUE",
                "empty": "",
            },
        ),
        (
            4,
            {
                "order_id": "A2",
                "phone": "'13900000002",
                "quantity": "",
                "price": "",
                "paid_at": "",
                "day": "",
                "flag": "",
                "empty": "",
            },
        ),
    ]


def test_xlsx_with_wrong_stored_dimension_reads_every_row():
    good = xlsx_bytes([["order_id", "sku"], ["A1", "S1"], ["A2", "S2"], ["A3", "S3"]])
    source, patched = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b'<dimension ref="A1:B4" />', b'<dimension ref="A1:B1" />')
                assert b'ref="A1:B1"' in body
            out.writestr(info, body)

    rows = rows_of(SourceFile(name="dim.xlsx", data=patched.getvalue()))

    assert [r[0] for r in rows] == [2, 3, 4]


def test_xlsx_cells_beyond_the_headers_are_reported():
    data = xlsx_bytes([["order_id", "sku"], ["A1", "S1", "stray"]])

    bad = rows_of(SourceFile(name="w.xlsx", data=data))[0]

    assert isinstance(bad, BadRow)
    assert (bad.error.row, bad.error.code) == (2, "ROW_TOO_MANY_CELLS")


def test_xlsx_named_file_of_random_bytes_is_not_a_spreadsheet():
    code, file, message = rejected(SourceFile(name="orders.xlsx", data=b"\x00\x01garbage\xff" * 50))

    assert (code, file) == ("FILE_NOT_SPREADSHEET", "orders.xlsx")
    assert message == "文件 orders.xlsx 不是可读取的电子表格（.xlsx）或 CSV 文件"


def test_text_named_xlsx_is_not_a_spreadsheet_but_text_named_xls_is_read_as_csv():
    text = b"order_id\tsku\nA1\tS1\n"

    assert rejected(SourceFile(name="orders.xlsx", data=text))[0] == "FILE_NOT_SPREADSHEET"
    assert rows_of(SourceFile(name="erp_export.xls", data=text)) == [(2, {"order_id": "A1", "sku": "S1"})]


def test_zip_that_is_no_workbook_is_not_a_spreadsheet():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")

    assert rejected(SourceFile(name="orders.xlsx", data=out.getvalue()))[0] == "FILE_NOT_SPREADSHEET"


def test_broken_zip_is_not_a_spreadsheet():
    data = xlsx_bytes([["order_id"], ["A1"]])[:200]

    assert rejected(SourceFile(name="cut.xlsx", data=data))[0] == "FILE_NOT_SPREADSHEET"


def zip_with_zeros(size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * size)
    return out.getvalue()


def test_zip_bomb_is_rejected_by_compression_ratio(settings):
    settings.IMPORT_MAX_COMPRESSION_RATIO = 50
    data = zip_with_zeros(200_000)  # deflates about 1000:1
    assert len(data) < 2_000

    code, file, message = rejected(SourceFile(name="bomb.xlsx", data=data))

    assert (code, file) == ("FILE_ZIP_BOMB", "bomb.xlsx")
    assert message.startswith("文件 bomb.xlsx 解压后过大（xl/worksheets/sheet1.xml ratio ")
    assert message.endswith("），疑似压缩炸弹，已拒绝")


def test_zip_bomb_is_rejected_by_total_uncompressed_size(settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 100_000
    settings.IMPORT_MAX_COMPRESSION_RATIO = 10_000

    code, _file, message = rejected(SourceFile(name="big.xlsx", data=zip_with_zeros(200_000)))

    assert code == "FILE_ZIP_BOMB"
    assert message == "文件 big.xlsx 解压后过大（> 100000 bytes），疑似压缩炸弹，已拒绝"


def test_real_workbook_passes_the_default_limits():
    rows = [["order_id", "sku"]] + [[f"A{i}", "SAME-SKU"] for i in range(2000)]

    assert len(rows_of(SourceFile(name="ok.xlsx", data=xlsx_bytes(rows)))) == 2000


def test_old_binary_xls_is_refused_with_advice():
    data = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 512

    code, _file, message = rejected(SourceFile(name="orders.xls", data=data))

    assert code == "FILE_XLS_UNSUPPORTED"
    assert (
        message
        == "文件 orders.xls 是旧版 Excel（.xls）格式，无法读取：请在 Excel 中另存为 .xlsx 或 CSV 后再上传"
    )


def test_html_table_saved_as_xls_is_read():
    html = (
        '<html><head><meta charset="gbk"></head><body><table border="1">'
        "<tr><th>订单编号</th><th>收货地址</th><th>购买数量</th></tr>"
        "<tr><td>1001</td><td>广东省 广州市<br>越秀区 &amp; 某路</td><td>2</td></tr>"
        '<tr><td colspan="2">合计</td><td>2</td></tr>'
        "</table><table><tr><td>second table ignored</td></tr></table></body></html>"
    ).encode("gbk")

    table = read_table(SourceFile(name="ExportOrderList.xls", data=html))

    assert table.kind == "html"
    assert table.headers == ["订单编号", "收货地址", "购买数量"]
    assert list(table.rows) == [
        (2, {"订单编号": "1001", "收货地址": "广东省 广州市 越秀区 & 某路", "购买数量": "2"}),
        (3, {"订单编号": "合计", "收货地址": "", "购买数量": "2"}),
    ]


def test_html_without_a_table_is_rejected():
    code, _file, message = rejected(
        SourceFile(name="x.xls", data=b"<html><body>login required</body></html>")
    )

    assert code == "FILE_HTML_TABLE"
    assert message == "文件 x.xls 是网页（HTML）而不是表格，其中没有可读取的表格：请导出为 CSV 或 .xlsx"


def test_workbook_sheets_are_read_one_by_one():
    data = xlsx_bytes(
        [["code", "name"], ["WH1", "一号仓"]], title="仓库", extra={"空": [], "快递": [["code"], ["SF"]]}
    )

    sheets = [
        (title, list(table.rows))
        for title, table in read_workbook_sheets(SourceFile(name="m.xlsx", data=data))
    ]

    assert sheets == [("仓库", [(2, {"code": "WH1", "name": "一号仓"})]), ("快递", [(2, {"code": "SF"})])]


def test_csv_is_one_sheet_named_after_the_file():
    sheets = list(read_workbook_sheets(SourceFile(name="couriers.csv", data=b"code\nSF\n")))

    assert [(title, list(table.rows)) for title, table in sheets] == [("couriers", [(2, {"code": "SF"})])]


# --- JSON -------------------------------------------------------------------------------------


def test_json_syntax_error_names_line_and_column():
    with pytest.raises(FileRejected) as info:
        read_json(SourceFile(name="o.json", data=b'{"orders": [\n  {"order_id": "A1",}\n]}'))

    assert info.value.error.code == "FILE_JSON_INVALID"
    assert (
        info.value.error.message
        == "文件 o.json 不是有效的 JSON：第 2 行第 21 列，Expecting property name enclosed in double quotes"
    )


def test_json_too_deep_is_invalid_not_a_crash():
    with pytest.raises(FileRejected) as info:
        read_json(SourceFile(name="deep.json", data=b"[" * 100_000 + b"]" * 100_000))

    assert info.value.error.code == "FILE_JSON_INVALID"


def test_kind_is_told_by_content_not_name():
    assert sniff_kind(SourceFile(name="a.csv", data=xlsx_bytes([["a"]]))) == "zip"
    assert sniff_kind(SourceFile(name="a.xlsx", data=b'  \n{"orders": []}')) == "json"
    assert sniff_kind(SourceFile(name="a.json", data=b"order_id,sku\n")) == "text"
    assert (
        sniff_kind(SourceFile(name="a.xls", data=b"\xef\xbb\xbf<TABLE><tr><td>1</td></tr></TABLE>")) == "html"
    )


# --- cleaning and parsing helpers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('="35153131473293579"', "35153131473293579"),
        ("  '13900000001 ", "13900000001"),
        ("广东省\u3000广州市", "广东省 广州市"),
        ("\u3000张三\xa0", "张三"),
        ('=""', ""),
        ("=SUM(A1)", "=SUM(A1)"),
        ("O'Brien", "O'Brien"),
        ("", ""),
    ],
)
def test_clean_text_undoes_excel_text_tricks(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "quantity"),
    [("2", 2), (" 2 ", 2), ("2.0", 2), (3, 3), (4.0, 4), ("100000", 100000), ("abc", None), ("0", None),
     ("-1", None), ("2.5", None), ("100001", None), ("", None), ("1_0", None), (True, None), (None, None),
     ("nan", None)],
)  # fmt: skip
def test_parse_quantity_accepts_whole_numbers_from_1_to_100000(raw, quantity):
    assert parse_quantity(raw) == quantity


def test_parse_datetime_reads_naive_as_shanghai_and_converts_offsets():
    assert parse_datetime("2024-05-01 10:00:00") == datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI)
    assert parse_datetime("2024-05-01 10:00:00").tzinfo is SHANGHAI
    assert parse_datetime("2024/5/1 9:05") == datetime(2024, 5, 1, 9, 5, tzinfo=SHANGHAI)
    utc = parse_datetime("2024-05-01T02:00:00Z")
    assert (utc, utc.tzinfo) == (datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI), SHANGHAI)
    assert parse_datetime("2008-01-10T11:00:00-05:00") == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert parse_datetime("  ") is None
    with pytest.raises(ValueError):
        parse_datetime("2024-13-01 10:00:00")
    with pytest.raises(ValueError):
        parse_datetime("yesterday")


def test_parse_attributes_accepts_full_width_separators():
    assert parse_attributes("颜色分类:红色;尺码:XL") == {"颜色分类": "红色", "尺码": "XL"}
    assert parse_attributes("颜色：红； 尺码 ： XL ;") == {"颜色": "红", "尺码": "XL"}
    assert parse_attributes("颜色分类:20厘米锅-第三方玻璃盖") == {"颜色分类": "20厘米锅-第三方玻璃盖"}
    assert parse_attributes("套餐一") == {"variant": "套餐一"}
    assert parse_attributes("") == {}


def test_cell_text_of_spreadsheet_values():
    assert cell_text(13900000001.0) == "13900000001"
    assert cell_text(0.1) == "0.1"
    assert cell_text(timedelta(hours=1)) == "1:00:00"
    assert cell_text(None) == ""


def test_couriers_and_express_are_recognised_in_shipping_method_text():
    assert courier_named_in("UPS Ground") == "UPS"
    assert courier_named_in("顺丰快递") == "顺丰"
    assert courier_named_in("EMS") == "EMS"
    assert courier_named_in("Pickups and groups") == ""
    assert courier_named_in("快递") == ""
    assert says_express("Expedited Shipping") is True
    assert says_express("加急") is True
    assert says_express("SF Express") is False
    assert says_express("Free Shipping") is False


def test_xml_entity_expansion_in_a_workbook_is_not_parsed():
    good = xlsx_bytes([["order_id"], ["A1"]])
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    )
    source, patched = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = laughs + body.replace(b"<t>A1</t>", b"<t>&lol2;</t>")
            out.writestr(info, body)

    assert rejected(SourceFile(name="lol.xlsx", data=patched.getvalue()))[0] == "FILE_NOT_SPREADSHEET"
