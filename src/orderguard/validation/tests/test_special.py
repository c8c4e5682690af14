from hypothesis import given, settings
from hypothesis import strategies as st

from orderguard.core.choices import ExceptionType, Severity
from orderguard.orders.schema import OrderIn
from orderguard.validation.special import check_special


def special(**fields):
    return [(f.code, f.field, f.data) for f in check_special(OrderIn(platform_order_id="1", **fields))]


def couriers(note):
    return [
        f.data["courier"]
        for f in check_special(OrderIn(platform_order_id="1", buyer_note=note))
        if f.code == "SPECIAL_COURIER_REQUESTED"
    ]


def test_no_notes_no_findings():
    assert special() == []
    assert special(buyer_note="谢谢，麻烦包装好一点") == []


def test_courier_named_in_the_buyer_note_is_requested():
    assert special(buyer_note="请发顺丰") == [
        ("SPECIAL_COURIER_REQUESTED", "buyer_note", {"courier": "SF", "source": "buyer_note"})
    ]


def test_every_courier_is_recognised_by_its_chinese_name_and_abbreviation():
    notes = {
        "发顺丰": "SF",
        "順豐到付": "SF",
        "走sf": "SF",
        "发京东快递": "JD",
        "JD物流": "JD",
        "发EMS": "EMS",
        "走邮政": "EMS",
        "中通": "ZTO",
        "ZTO please": "ZTO",
        "圆通": "YTO",
        "YTO": "YTO",
        "韵达": "YUNDA",
        "yunda": "YUNDA",
        "申通": "STO",
        "sto": "STO",
        "极兔": "JTEXPRESS",
        "J&T": "JTEXPRESS",
        "德邦": "DEPPON",
    }

    assert {note: couriers(note) for note in notes} == {note: [code] for note, code in notes.items()}


def test_latin_abbreviations_match_only_as_whole_words():
    assert couriers("SFA型号") == []
    assert couriers("emsg") == []
    assert couriers("stop") == []
    assert couriers("ｓｆ") == ["SF"]


def test_courier_name_inside_a_place_name_is_not_a_request():
    assert couriers("送到北京东路100号") == []
    assert couriers("南京东路步行街") == []
    assert couriers("邮政编码310000") == []


def test_negated_courier_is_not_a_request():
    for note in ("不要顺丰", "不要发顺丰", "别发顺丰", "不用顺丰", "不需要顺丰", "千万别发邮政", "不发中通"):
        assert (note, couriers(note)) == (note, [])


def test_negation_in_another_clause_does_not_apply():
    assert couriers("不要中通，发顺丰") == ["SF"]


def test_several_couriers_each_give_one_finding():
    assert couriers("顺丰或者京东都可以，顺丰优先") == ["SF", "JD"]


def test_expedited_words_are_requests():
    for note in (
        "加急",
        "急件",
        "尽快发货",
        "今天发",
        "当天发",
        "当日达",
        "次日达",
        "加快",
        "express please",
        "URGENT",
        "特快",
    ):
        assert (note, special(buyer_note=note)[0][0]) == (note, "SPECIAL_EXPRESS_REQUESTED")
    assert special(buyer_note="麻烦加急") == [
        ("SPECIAL_EXPRESS_REQUESTED", "buyer_note", {"source": "buyer_note", "keyword": "加急"})
    ]


def test_negated_expedited_request_is_not_a_request():
    for note in ("不用加急", "不要加急", "不需要加急", "别加急", "不加急", "无需加急"):
        assert (note, special(buyer_note=note)) == (note, [])


def test_courier_name_containing_express_is_not_an_expedited_request():
    assert special(buyer_note="SF Express") == [
        ("SPECIAL_COURIER_REQUESTED", "buyer_note", {"courier": "SF", "source": "buyer_note"})
    ]


def test_courier_and_expedited_in_one_note_give_both():
    assert [code for code, _f, _d in special(buyer_note="发顺丰，加急")] == [
        "SPECIAL_COURIER_REQUESTED",
        "SPECIAL_EXPRESS_REQUESTED",
    ]


def test_courier_wanted_but_no_rush():
    assert special(buyer_note="发顺丰不要加急") == [
        ("SPECIAL_COURIER_REQUESTED", "buyer_note", {"courier": "SF", "source": "buyer_note"})
    ]


def test_platform_courier_field_is_a_platform_request():
    assert special(requested_courier="顺丰速运") == [
        ("SPECIAL_COURIER_REQUESTED", "requested_courier", {"courier": "SF", "source": "platform"})
    ]
    assert special(requested_courier="ZTO") == [
        ("SPECIAL_COURIER_REQUESTED", "requested_courier", {"courier": "ZTO", "source": "platform"})
    ]


def test_unrecognised_platform_courier_is_still_a_request():
    assert special(requested_courier="跨越速运") == [
        (
            "SPECIAL_COURIER_REQUESTED",
            "requested_courier",
            {"courier": "OTHER", "source": "platform", "given": "跨越速运"},
        )
    ]


def test_platform_service_level_express_is_a_request():
    assert special(service_level="express") == [
        ("SPECIAL_EXPRESS_REQUESTED", "service_level", {"source": "platform", "keyword": "express"})
    ]
    assert special(service_level="standard") == []


def test_the_same_request_in_two_places_is_reported_once_from_the_first():
    assert special(
        requested_courier="SF", buyer_note="一定要顺丰", seller_note="顺丰，加急", service_level="express"
    ) == [
        ("SPECIAL_COURIER_REQUESTED", "requested_courier", {"courier": "SF", "source": "platform"}),
        ("SPECIAL_EXPRESS_REQUESTED", "service_level", {"source": "platform", "keyword": "express"}),
    ]


def test_seller_note_is_read_too():
    assert special(seller_note="客户要求发京东") == [
        ("SPECIAL_COURIER_REQUESTED", "seller_note", {"courier": "JD", "source": "seller_note"})
    ]


def test_findings_are_blocking_special_requests():
    findings = check_special(OrderIn(platform_order_id="1", buyer_note="顺丰加急"))

    assert {(f.type, f.severity) for f in findings} == {(ExceptionType.SPECIAL_REQUEST, Severity.BLOCKING)}


# H5: delivery date or time window, gift packing, no price slip


def codes(note):
    return [
        (f.code, f.data["keyword"]) for f in check_special(OrderIn(platform_order_id="1", buyer_note=note))
    ]


def test_delivery_date_or_time_window_words_are_requests():
    notes = {
        "请周末送": "周末送",
        "5月20日前送达": "5月20日前送达",
        "20号之前到，谢谢": "20号之前到",
        "6月1日送到": "6月1日送到",
        "上午送货": "上午送",
        "送货时间：工作日": "送货时间",
    }

    assert {note: codes(note) for note in notes} == {
        note: [("SPECIAL_DELIVERY_TIME_REQUESTED", keyword)] for note, keyword in notes.items()
    }


def test_a_number_of_days_is_not_a_delivery_date():
    assert codes("一般3日到吗") == []


def test_gift_packing_words_are_requests():
    assert codes("送人的，请用礼盒") == [("SPECIAL_GIFT_WRAP_REQUESTED", "礼盒")]
    assert codes("帮忙礼品包装，附贺卡") == [("SPECIAL_GIFT_WRAP_REQUESTED", "礼品包装")]
    assert codes("麻烦包装好一点") == []


def test_no_price_slip_phrases_are_requests():
    assert codes("送礼的，不要价格单") == [("SPECIAL_NO_PRICE_SLIP_REQUESTED", "不要价格单")]
    assert codes("不放发票") == [("SPECIAL_NO_PRICE_SLIP_REQUESTED", "不放发票")]
    assert codes("请隐藏价格") == [("SPECIAL_NO_PRICE_SLIP_REQUESTED", "隐藏价格")]


def test_negated_new_kinds_are_not_requests():
    assert codes("不用礼盒") == []
    assert codes("不需要周末送") == []
    assert codes("不用不放发票") == []


def test_a_no_price_phrase_does_not_negate_a_courier_after_it():
    assert special(buyer_note="不要价格单顺丰发") == [
        ("SPECIAL_COURIER_REQUESTED", "buyer_note", {"courier": "SF", "source": "buyer_note"}),
        ("SPECIAL_NO_PRICE_SLIP_REQUESTED", "buyer_note", {"source": "buyer_note", "keyword": "不要价格单"}),
    ]


def test_platform_fields_ask_for_the_new_kinds_first_and_once():
    assert special(
        extra={"gift_wrap": True, "delivery_time": "", "hide_price": "false"}, buyer_note="礼盒，周末送"
    ) == [
        ("SPECIAL_GIFT_WRAP_REQUESTED", "extra.gift_wrap", {"source": "platform", "keyword": "gift_wrap"}),
        ("SPECIAL_DELIVERY_TIME_REQUESTED", "buyer_note", {"source": "buyer_note", "keyword": "周末送"}),
    ]


def test_one_finding_per_kind_the_buyer_note_before_the_seller_note():
    assert special(buyer_note="礼盒", seller_note="贺卡，周六送") == [
        ("SPECIAL_GIFT_WRAP_REQUESTED", "buyer_note", {"source": "buyer_note", "keyword": "礼盒"}),
        ("SPECIAL_DELIVERY_TIME_REQUESTED", "seller_note", {"source": "seller_note", "keyword": "周六送"}),
    ]


@settings(max_examples=300, deadline=None)
@given(
    buyer=st.text(
        alphabet=st.sampled_from(list("不要别用礼盒贺卡价格单小票发票周末送上午月日号前到达顺丰加急，。 12")),
        max_size=30,
    ),
    extra=st.dictionaries(
        st.sampled_from(["gift_wrap", "delivery_time", "hide_price", "other"]),
        st.one_of(st.booleans(), st.text(max_size=5), st.none(), st.integers()),
    ),
)
def test_any_note_and_platform_fields_give_at_most_one_finding_per_kind_and_never_crash(buyer, extra):
    findings = check_special(OrderIn(platform_order_id="1", buyer_note=buyer, extra=extra))
    kinds = [f.code for f in findings if f.code != "SPECIAL_COURIER_REQUESTED"]

    assert len(kinds) == len(set(kinds))
    assert {(f.type, f.severity) for f in findings} <= {(ExceptionType.SPECIAL_REQUEST, Severity.BLOCKING)}
