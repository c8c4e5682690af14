from hypothesis import given
from hypothesis import strategies as st

from orderguard.core.choices import ExceptionType, Severity
from orderguard.orders.schema import AddressIn
from orderguard.validation.address import (
    check_address,
    division_index,
    has_road_or_number,
    is_masked_detail,
    parse_address,
)


def check(**parts):
    addr = AddressIn(**parts)
    return check_address(addr, parse_address(addr))


def codes(findings):
    return [f.code for f in findings]


def levels(parsed):
    return (parsed.province, parsed.city, parsed.district, parsed.town, parsed.detail)


def level_codes(parsed):
    return (parsed.province_code, parsed.city_code, parsed.district_code)


# --- parsing -------------------------------------------------------------------------------


def test_run_together_text_is_split_greedily():
    parsed = parse_address(AddressIn(raw="浙江省杭州市西湖区文三路90号"))

    assert levels(parsed) == ("浙江省", "杭州市", "西湖区", "", "文三路90号")
    assert level_codes(parsed) == ("330000", "330100", "330106")


def test_taobao_space_separated_text_with_postcode():
    parsed = parse_address(AddressIn(raw="浙江省 杭州市 西湖区 文三路90号(310000)"))

    assert levels(parsed) == ("浙江省", "杭州市", "西湖区", "", "文三路90号")
    assert parsed.postcode == "310000"


def test_unknown_postcode_zeros_are_dropped():
    parsed = parse_address(AddressIn(raw="浙江省 杭州市 西湖区 文三路90号（000000）"))

    assert (parsed.detail, parsed.postcode) == ("文三路90号", "")


def test_short_forms_resolve_to_official_names():
    cases = {
        "浙江杭州西湖区文三路90号": ("浙江省", "杭州市", "西湖区"),
        "内蒙呼和浩特新城区xx路5号": ("内蒙古自治区", "呼和浩特市", "新城区"),
        "广西南宁青秀区民族大道1号": ("广西壮族自治区", "南宁市", "青秀区"),
        "延边州延吉市xx路1号": ("吉林省", "延边朝鲜族自治州", "延吉市"),
        "浙江杭州西湖文三路90号": ("浙江省", "杭州市", "西湖区"),
    }

    for raw, expected in cases.items():
        parsed = parse_address(AddressIn(raw=raw))
        assert (raw, (parsed.province, parsed.city, parsed.district)) == (raw, expected)


def test_every_province_resolves_from_its_suffix_stripped_form():
    index = division_index()
    short = {
        "内蒙古自治区": "内蒙",
        "广西壮族自治区": "广西",
        "新疆维吾尔自治区": "新疆",
        "宁夏回族自治区": "宁夏",
    }

    for province in index.provinces:
        form = short.get(
            province.name, province.name.removesuffix("特别行政区").rstrip("省市").removesuffix("自治区")
        )
        assert (form, index.province(form)) == (form, province)


def test_province_short_form_before_city_suffix_is_the_city():
    parsed = parse_address(AddressIn(raw="吉林市船营区xx路1号"))

    assert (parsed.province, parsed.city, parsed.district, parsed.inferred) == (
        "吉林省",
        "吉林市",
        "船营区",
        ("province",),
    )


def test_short_form_followed_by_an_admin_word_does_not_match():
    # 朝阳区 is not the city 朝阳 (辽宁): two districts of that name, so nothing can be inferred.
    parsed = parse_address(AddressIn(raw="朝阳区建国路88号"))

    assert (parsed.province_code, parsed.city_code, parsed.district_code) == ("", "", "")


def test_structured_slots_are_used_when_present():
    parsed = parse_address(AddressIn(province="浙江", city="杭州", district="西湖", detail="文三路90号"))

    assert levels(parsed) == ("浙江省", "杭州市", "西湖区", "", "文三路90号")
    assert level_codes(parsed) == ("330000", "330100", "330106")


def test_detail_repeating_the_admin_names_is_trimmed_and_its_town_split_off():
    parsed = parse_address(
        AddressIn(
            province="浙江省", city="杭州市", district="西湖区", detail="浙江省杭州市西湖区西溪街道文三路90号"
        )
    )

    assert levels(parsed) == ("浙江省", "杭州市", "西湖区", "西溪街道", "文三路90号")
    assert parsed.town_code == "330106004"


def test_detail_is_taken_from_raw_when_only_raw_holds_it():
    parsed = parse_address(
        AddressIn(
            province="浙江省", city="杭州市", district="西湖区", raw="浙江省 杭州市 西湖区 文三路90号(310000)"
        )
    )

    assert (parsed.detail, parsed.postcode) == ("文三路90号", "310000")


def test_municipality_city_is_the_municipality_whatever_the_platform_wrote():
    variants = [
        AddressIn(raw="北京市朝阳区建国路88号"),
        AddressIn(raw="北京 北京市 朝阳区 建国路88号"),
        AddressIn(raw="北京市 市辖区 朝阳区 建国路88号"),
        AddressIn(province="北京", city="北京市", district="朝阳区", detail="建国路88号"),
        AddressIn(province="北京市", city="市辖区", district="朝阳区", detail="建国路88号"),
        AddressIn(province="北京市", city="朝阳区", detail="建国路88号"),
    ]

    for addr in variants:
        parsed = parse_address(addr)
        assert (addr, levels(parsed), level_codes(parsed)) == (
            addr,
            ("北京市", "北京市", "朝阳区", "", "建国路88号"),
            ("110000", "110000", "110105"),
        )
        assert check_address(addr, parsed) == []


def test_chongqing_county_resolves_under_the_municipality():
    parsed = parse_address(AddressIn(raw="重庆市 县 城口县 xx路1号"))

    assert (parsed.province, parsed.city, parsed.district) == ("重庆市", "重庆市", "城口县")


def test_county_level_city_under_a_province_is_city_and_district():
    for addr in (
        AddressIn(raw="湖北省仙桃市郑场镇xx村3组"),
        AddressIn(raw="湖北省 省直辖县级行政区划 仙桃市 郑场镇 xx村3组"),
        AddressIn(province="湖北省", city="仙桃市", district="郑场镇", detail="xx村3组"),
    ):
        parsed = parse_address(addr)
        assert (addr, levels(parsed), level_codes(parsed)) == (
            addr,
            ("湖北省", "仙桃市", "仙桃市", "郑场镇", "xx村3组"),
            ("420000", "429004", "429004"),
        )
        assert check_address(addr, parsed) == []


def test_city_without_districts_needs_no_district():
    addr = AddressIn(province="广东省", city="东莞市", district="南城街道", detail="xx路1号")
    parsed = parse_address(addr)

    assert (parsed.district, parsed.town, parsed.district_expected) == ("", "南城街道", False)
    assert check_address(addr, parsed) == []


def test_hong_kong_needs_no_city_or_district():
    assert check(raw="香港特别行政区九龙xx道1号") == []


def test_province_is_inferred_from_the_city_and_both_from_a_unique_district():
    from_city = parse_address(AddressIn(city="杭州市", district="西湖区", detail="文三路90号"))
    from_district = parse_address(AddressIn(raw="余杭区良渚街道xx路1号"))

    assert (levels(from_city), from_city.inferred) == (
        ("浙江省", "杭州市", "西湖区", "", "文三路90号"),
        ("province",),
    )
    assert (levels(from_district), from_district.inferred) == (
        ("浙江省", "杭州市", "余杭区", "良渚街道", "xx路1号"),
        ("province", "city"),
    )


def test_district_written_right_after_the_province_gives_the_city():
    parsed = parse_address(AddressIn(raw="贵州省黔西市xx路1号"))

    assert (parsed.city, parsed.district, parsed.inferred) == ("毕节市", "黔西市", ("city",))


def test_same_short_form_on_two_levels_goes_to_the_province():
    parsed = parse_address(AddressIn(raw="海南海口市龙华区xx路1号"))

    assert (parsed.province, parsed.city) == ("海南省", "海口市")


# --- the check -----------------------------------------------------------------------------


def test_complete_address_has_no_findings():
    assert check(raw="浙江省杭州市西湖区文三路90号") == []
    assert check(province="浙江省", city="杭州市", district="西湖区", detail="xx小区3栋2单元501") == []


def test_empty_address_is_missing_and_nothing_else():
    findings = check()

    assert [(f.code, f.field, f.severity) for f in findings] == [
        ("ADDRESS_MISSING", "address", Severity.BLOCKING)
    ]


def test_text_without_any_division_lacks_province_city_and_district():
    findings = check(raw="西溪湿地附近")

    assert [(f.code, f.field, f.data) for f in findings] == [
        ("ADDRESS_NO_PROVINCE", "address.province", {"reason": "missing"}),
        ("ADDRESS_NO_CITY", "address.city", {"reason": "missing"}),
        ("ADDRESS_NO_DISTRICT", "address.district", {"reason": "missing"}),
        ("ADDRESS_NO_ROAD_OR_NUMBER", "address.detail", {"length": 6}),
    ]


def test_unknown_province_is_reported_with_what_was_written():
    findings = check(province="台湾省", city="台北市", detail="xx路1号")

    assert [(f.code, f.data) for f in findings][:2] == [
        ("ADDRESS_NO_PROVINCE", {"reason": "unknown", "given": "台湾省"}),
        ("ADDRESS_NO_CITY", {"reason": "unknown", "given": "台北市"}),
    ]


def test_missing_city_is_reported():
    findings = check(province="浙江省", detail="文三路90号")

    assert codes(findings) == ["ADDRESS_NO_CITY", "ADDRESS_NO_DISTRICT"]


def test_missing_district_is_reported():
    findings = check(province="浙江省", city="杭州市", detail="文三路90号")

    assert [(f.code, f.field, f.data) for f in findings] == [
        ("ADDRESS_NO_DISTRICT", "address.district", {"reason": "missing"})
    ]


def test_placeholder_district_is_no_district():
    structured = check(province="浙江省", city="杭州市", district="其它区", detail="文三路90号")
    taobao = check(raw="广东省 广州市 其它区 XX街道XX路12号(000000)")

    expected = [("ADDRESS_NO_DISTRICT", {"reason": "placeholder", "given": "其它区"})]
    assert [(f.code, f.data) for f in structured] == expected
    assert [(f.code, f.data) for f in taobao] == expected
    assert [
        (f.code, f.data)
        for f in check(province="浙江省", city="杭州市", district="其他区", detail="文三路90号")
    ] == [("ADDRESS_NO_DISTRICT", {"reason": "placeholder", "given": "其他区"})]


def test_abolished_district_name_reads_as_its_successor_with_a_suggestion():
    structured = check(province="浙江省", city="杭州市", district="江干区", detail="文三路90号")
    running = check(raw="浙江省杭州市下城区xx路1号")

    assert [(f.code, f.severity, f.data) for f in structured] == [
        (
            "ADDRESS_RENAMED_DIVISION",
            Severity.WARNING,
            {
                "level": "district",
                "given": "江干区",
                "current": "上城区",
                "since": "2021-04-09",
                "also": "钱塘区",
                "suggestion": {"district": "上城区"},
            },
        )
    ]
    assert [(f.code, f.data) for f in running] == [
        (
            "ADDRESS_RENAMED_DIVISION",
            {
                "level": "district",
                "given": "下城区",
                "current": "拱墅区",
                "since": "2021-04-09",
                "suggestion": {"district": "拱墅区"},
            },
        )
    ]


def test_district_name_unknown_anywhere_is_an_unknown_district():
    assert [
        (f.code, f.data)
        for f in check(province="浙江省", city="杭州市", district="江东区", detail="文三路90号")
    ] == [("ADDRESS_NO_DISTRICT", {"reason": "unknown", "given": "江东区"})]


def test_city_in_another_province_is_a_conflict():
    for addr in (
        dict(province="浙江省", city="南京市", district="玄武区", detail="中山路1号"),
        dict(raw="浙江省南京市玄武区中山路1号"),
    ):
        findings = check(**addr)
        assert [(f.code, f.field, f.data) for f in findings] == [
            (
                "ADDRESS_CONFLICT",
                "address",
                {
                    "levels": ["province", "city"],
                    "upper": "浙江省",
                    "lower": "南京市",
                    "belongs_to": ["江苏省"],
                },
            )
        ]


def test_district_in_another_city_is_a_conflict():
    for addr in (
        dict(province="浙江省", city="杭州市", district="玄武区", detail="中山路1号"),
        dict(raw="浙江省杭州市玄武区中山路1号"),
    ):
        findings = check(**addr)
        assert [(f.code, f.data) for f in findings] == [
            (
                "ADDRESS_CONFLICT",
                {
                    "levels": ["city", "district"],
                    "upper": "杭州市",
                    "lower": "玄武区",
                    "belongs_to": ["南京市"],
                },
            )
        ]


def test_district_name_shared_by_other_cities_lists_them_all():
    findings = check(province="浙江省", city="杭州市", district="鼓楼区", detail="中山路1号")

    assert codes(findings) == ["ADDRESS_CONFLICT"]
    assert findings[0].data["lower"] == "鼓楼区"
    assert len(findings[0].data["belongs_to"]) == 4


def test_district_name_shared_by_several_cities_without_a_city_is_ambiguous():
    findings = check(district="西湖区", detail="文三路90号")

    assert [(f.code, f.data) for f in findings] == [
        ("ADDRESS_NO_PROVINCE", {"reason": "missing"}),
        ("ADDRESS_NO_CITY", {"reason": "missing"}),
        ("ADDRESS_NO_DISTRICT", {"reason": "ambiguous", "given": "西湖区"}),
    ]


def test_detail_without_road_or_number_is_flagged():
    findings = check(province="浙江省", city="杭州市", district="西湖区", detail="西溪湿地附近")

    assert [(f.code, f.field, f.severity) for f in findings] == [
        ("ADDRESS_NO_ROAD_OR_NUMBER", "address.detail", Severity.BLOCKING)
    ]


def test_empty_detail_is_no_detail():
    findings = check(raw="浙江省杭州市西湖区西溪街道")

    assert [(f.code, f.field) for f in findings] == [("ADDRESS_NO_DETAIL", "address.detail")]


def test_masked_detail_is_a_warning_and_skips_the_road_check():
    findings = check(province="福建省", city="福州市", district="罗源县", detail="****")

    assert [(f.code, f.severity) for f in findings] == [("ADDRESS_DETAIL_MASKED", Severity.WARNING)]


def test_road_or_number_rule():
    accepted = [
        "文三路90号",
        "xx小区3栋2单元501",
        "建设街",
        "解放大道",
        "南锣鼓巷",
        "菊儿胡同",
        "幸福里",
        "xx村3组",
        "5号楼",
        "三号楼",
        "3#楼",
        "No. 5 Wensan",
        "3-2-501",
        "阳光小区501",
    ]
    rejected = ["西溪湿地附近", "万达广场", "西溪街道", "这里", "市中心", "阳光小区"]

    assert [d for d in accepted if not has_road_or_number(d)] == []
    assert [d for d in rejected if has_road_or_number(d)] == []


def test_masked_detail_rule():
    assert [is_masked_detail(d) for d in ("****", "文三路****", "文三路90号**", "**")] == [
        True,
        True,
        False,
        False,
    ]


def test_findings_are_recipient_errors():
    findings = check(raw="西溪湿地附近") + check(province="浙江省", city="南京市", detail="x")

    assert {f.type for f in findings} == {ExceptionType.RECIPIENT_ERROR}


# --- outside China -------------------------------------------------------------------------


def test_foreign_address_needs_detail_city_and_postcode():
    assert check(country="US", detail="1 Main St", city="Springfield", postcode="62701") == []
    assert [(f.code, f.field, f.data) for f in check(country="US", province="IL")] == [
        ("ADDRESS_NO_DETAIL", "address.detail", {"country": "US"}),
        ("ADDRESS_NO_CITY", "address.city", {"country": "US"}),
        ("ADDRESS_NO_POSTCODE", "address.postcode", {"country": "US"}),
    ]


def test_foreign_address_detail_may_come_from_raw():
    assert codes(check(country="GB", raw="10 Downing St", city="London", postcode="SW1A 2AA")) == []


def test_hong_kong_as_a_country_needs_no_postcode():
    assert check(country="HK", detail="1 Nathan Rd", city="Kowloon") == []


def test_short_form_followed_by_a_road_name_is_not_the_district():
    parsed = parse_address(AddressIn(raw="浙江省杭州市余杭塘路1号"))

    assert (parsed.district, parsed.detail) == ("", "余杭塘路1号")


_ADDRESS_TEXT = st.text(
    alphabet=st.sampled_from(list("浙江省杭州市西湖区北京朝阳重庆县其它路号 ，()0123456789*")), max_size=30
)


@given(raw=_ADDRESS_TEXT, province=_ADDRESS_TEXT, city=_ADDRESS_TEXT, district=_ADDRESS_TEXT)
def test_any_text_parses_and_checks_without_error(raw, province, city, district):
    for addr in (AddressIn(raw=raw), AddressIn(province=province, city=city, district=district, detail=raw)):
        findings = check_address(addr, parse_address(addr))
        assert all(f.type == ExceptionType.RECIPIENT_ERROR for f in findings)


def test_town_right_under_a_prefecture_needs_no_district():
    for addr in (
        AddressIn(raw="黑龙江省大兴安岭地区红旗街道xx路1号"),
        AddressIn(province="青海省", city="海西蒙古族藏族自治州", district="柴旦镇", detail="xx路1号"),
    ):
        parsed = parse_address(addr)
        assert (addr, parsed.district_expected, check_address(addr, parsed)) == (addr, False, [])


def test_text_in_a_division_slot_is_repeated_in_the_finding_only_when_it_looks_like_a_division():
    from orderguard.orders.schema import AddressIn
    from orderguard.validation.address import check_address, parse_address

    def district_data(district: str) -> dict[str, object]:
        addr = AddressIn(province="浙江省", city="杭州市", district=district, detail="文三路90号")
        [finding] = [f for f in check_address(addr, parse_address(addr)) if f.code == "ADDRESS_NO_DISTRICT"]
        return finding.data

    assert district_data("江东区") == {"reason": "unknown", "given": "江东区"}
    # a street address typed into the district box is not copied into the finding
    assert district_data("中山路1号101室张三家") == {"reason": "unknown"}


def test_a_district_at_the_start_of_the_detail_fills_the_missing_district_slot():
    from orderguard.orders.schema import AddressIn
    from orderguard.validation.address import check_address, parse_address

    addr = AddressIn(province="浙江省", city="杭州市", detail="西湖区文三路90号")
    parsed = parse_address(addr)

    assert (parsed.district, parsed.district_code, parsed.detail) == ("西湖区", "330106", "文三路90号")
    assert check_address(addr, parsed) == []


def test_a_road_named_like_a_district_is_not_taken_for_the_district():
    from orderguard.orders.schema import AddressIn
    from orderguard.validation.address import check_address, parse_address

    addr = AddressIn(province="浙江省", city="杭州市", detail="西湖路1号")
    parsed = parse_address(addr)

    assert (parsed.district, parsed.detail) == ("", "西湖路1号")
    assert [f.code for f in check_address(addr, parsed)] == ["ADDRESS_NO_DISTRICT"]
