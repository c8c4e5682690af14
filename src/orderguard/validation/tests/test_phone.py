from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from orderguard.core.choices import ExceptionType, Severity
from orderguard.validation.phone import (
    PhoneKind,
    area_code_place,
    check_area_code,
    check_phone,
    mask_digits,
    normalise,
    platform_phone_expiry,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def codes(result):
    return [(f.code, f.severity) for f in result.findings]


def test_plain_mobile_is_valid_with_no_findings():
    result = check_phone("13800138000", now=NOW)

    assert (result.normalised, result.kind, result.extension, result.findings) == (
        "13800138000",
        PhoneKind.MOBILE,
        "",
        (),
    )


def test_full_width_mobile_is_valid():
    result = check_phone("１３８００１３８０００", now=NOW)

    assert (result.normalised, result.kind, result.findings) == ("13800138000", PhoneKind.MOBILE, ())


def test_country_prefixes_spaces_and_dashes_are_formatting():
    for raw in (
        "+86 138 0013 8000",
        "0086-13800138000",
        "8613800138000",
        "138-0013-8000",
        "(+86)13800138000",
        "'13800138000",
    ):
        result = check_phone(raw, now=NOW)
        assert (raw, result.normalised, result.kind, result.findings) == (
            raw,
            "13800138000",
            PhoneKind.MOBILE,
            (),
        )


def test_masked_mobile_is_only_a_warning():
    result = check_phone("138****0000", now=NOW)

    assert (result.normalised, result.kind) == ("138****0000", PhoneKind.MASKED)
    assert codes(result) == [("PHONE_MASKED", Severity.WARNING)]
    assert result.findings[0].data == {"masked": "138****0000"}
    assert result.blocking is False


def test_masked_mobile_with_other_star_counts_or_x_is_masked():
    assert [
        check_phone(raw, now=NOW).normalised for raw in ("138***0000", "138*****0000", "138xxxx0000")
    ] == [
        "138***0000",
        "138*****0000",
        "138****0000",
    ]
    assert {check_phone(raw, now=NOW).kind for raw in ("138***0000", "+86 183****2807")} == {PhoneKind.MASKED}


def test_mobile_with_extension_is_virtual_warning():
    for raw in (
        "13800138000-1234",
        "13800138000转1234",
        "13800138000#1234",
        "13800138000,1234",
        "13800138000_1234",
    ):
        result = check_phone(raw, now=NOW)
        assert (raw, result.normalised, result.kind, result.extension) == (
            raw,
            "13800138000",
            PhoneKind.VIRTUAL,
            "1234",
        )
        assert codes(result) == [("PHONE_VIRTUAL", Severity.WARNING)]
        assert result.findings[0].data == {"masked": "138****8000", "has_extension": True}


def test_wechat_virtual_number_with_twelve_digits_is_virtual():
    result = check_phone("132123457749-1234", now=NOW)

    assert (result.normalised, result.kind, result.extension) == ("132123457749", PhoneKind.VIRTUAL, "1234")
    assert codes(result) == [("PHONE_VIRTUAL", Severity.WARNING)]


def test_expired_virtual_number_is_blocking():
    expired = NOW - timedelta(minutes=1)

    result = check_phone("13800138000-1234", expires_at=expired, now=NOW)

    assert codes(result) == [
        ("PHONE_VIRTUAL", Severity.WARNING),
        ("PHONE_VIRTUAL_EXPIRED", Severity.BLOCKING),
    ]
    assert result.findings[1].data == {"masked": "138****8000", "expired_at": "2025-06-01T11:59:00+00:00"}


def test_virtual_number_expiring_exactly_now_is_expired():
    result = check_phone("13800138000-1234", expires_at=NOW, now=NOW)

    assert [f.code for f in result.findings] == ["PHONE_VIRTUAL", "PHONE_VIRTUAL_EXPIRED"]


def test_virtual_number_not_yet_expired_is_only_a_warning():
    result = check_phone("13800138000-1234", expires_at=NOW + timedelta(days=3), now=NOW)

    assert codes(result) == [("PHONE_VIRTUAL", Severity.WARNING)]
    assert result.findings[0].data["expires_at"] == "2025-06-04T12:00:00+00:00"


def test_number_with_an_expiry_is_virtual_even_without_extension():
    result = check_phone("13800138000", expires_at=NOW - timedelta(days=1), now=NOW)

    assert (result.kind, result.extension) == (PhoneKind.VIRTUAL, "")
    assert [f.code for f in result.findings] == ["PHONE_VIRTUAL", "PHONE_VIRTUAL_EXPIRED"]


def test_naive_expiry_is_read_in_the_clock_zone():
    result = check_phone("13800138000-1", expires_at=datetime(2025, 6, 1, 11, 0), now=NOW)

    assert [f.code for f in result.findings] == ["PHONE_VIRTUAL", "PHONE_VIRTUAL_EXPIRED"]


def test_empty_or_placeholder_phone_is_missing():
    for raw in ("", "   ", "无", "NULL", "-"):
        result = check_phone(raw, now=NOW)
        assert (raw, result.kind, codes(result)) == (
            raw,
            PhoneKind.EMPTY,
            [("PHONE_MISSING", Severity.BLOCKING)],
        )


def test_mobile_with_ten_digits_has_bad_length():
    result = check_phone("1380013800", now=NOW)

    assert (result.kind, codes(result)) == (PhoneKind.INVALID, [("PHONE_BAD_LENGTH", Severity.BLOCKING)])
    assert result.findings[0].data == {"digits": 10, "masked": "******3800"}


def test_mobile_with_twelve_digits_has_bad_length():
    result = check_phone("138001380001", now=NOW)

    assert [(f.code, f.data["digits"]) for f in result.findings] == [("PHONE_BAD_LENGTH", 12)]


def test_eleven_digits_outside_any_mobile_block_are_invalid():
    for raw in ("12345678901", "10012345678", "14012345678"):
        result = check_phone(raw, now=NOW)
        assert (raw, result.kind, codes(result)) == (
            raw,
            PhoneKind.INVALID,
            [("PHONE_INVALID", Severity.BLOCKING)],
        )
    assert check_phone("12345678901", now=NOW).findings[0].data == {"digits": 11, "masked": "123****8901"}


def test_newer_mobile_blocks_are_valid():
    assert {check_phone(raw, now=NOW).kind for raw in ("19212345678", "16512345678", "17012345678")} == {
        PhoneKind.MOBILE
    }


def test_landlines_with_area_code_are_valid():
    cases = {
        "0571-88888888": ("057188888888", ""),
        "010-12345678": ("01012345678", ""),
        "(0571)88888888": ("057188888888", ""),
        "0571-88888888-123": ("057188888888", "123"),
        "0571-88888888转123": ("057188888888", "123"),
    }

    for raw, expected in cases.items():
        result = check_phone(raw, now=NOW)
        assert (raw, result.kind, (result.normalised, result.extension), result.findings) == (
            raw,
            PhoneKind.LANDLINE,
            expected,
            (),
        )


def test_landline_without_area_code_is_invalid():
    result = check_phone("88888888", now=NOW)

    assert [(f.code, f.data) for f in result.findings] == [
        ("PHONE_INVALID", {"digits": 8, "masked": "****8888", "reason": "no_area_code"})
    ]


def test_letters_are_malformed():
    for raw in ("abc", "138001380OO", "电话13800138000"):
        result = check_phone(raw, now=NOW)
        assert (raw, result.kind, codes(result)) == (
            raw,
            PhoneKind.INVALID,
            [("PHONE_MALFORMED", Severity.BLOCKING)],
        )
    assert check_phone("abc", now=NOW).findings[0].data == {"length": 3}


def test_foreign_number_is_parsed_for_its_region():
    result = check_phone("(415) 555-2671", country="US", now=NOW)

    assert (result.normalised, result.kind, result.findings) == ("+14155552671", PhoneKind.FOREIGN, ())


def test_foreign_number_with_plus_on_a_chinese_order_is_foreign():
    result = check_phone("+44 20 7946 0958", now=NOW)

    assert (result.normalised, result.kind, result.findings) == ("+442079460958", PhoneKind.FOREIGN, ())


def test_foreign_number_of_wrong_length_is_bad_length():
    result = check_phone("415555267", country="US", now=NOW)

    assert [(f.code, f.data["digits"]) for f in result.findings] == [("PHONE_BAD_LENGTH", 9)]


def test_chinese_mobile_on_a_foreign_order_is_still_a_mobile():
    result = check_phone("13800138000", country="US", now=NOW)

    assert (result.normalised, result.kind, result.findings) == ("13800138000", PhoneKind.MOBILE, ())


def test_findings_are_recipient_errors_on_the_phone_field():
    findings = [
        *check_phone("", now=NOW).findings,
        *check_phone("138****0000", now=NOW).findings,
        *check_phone("1380013800", now=NOW).findings,
    ]

    assert {(f.type, f.field) for f in findings} == {(ExceptionType.RECIPIENT_ERROR, "recipient_phone")}


def test_findings_never_hold_the_number_in_clear():
    raws = ["1380013800", "12345678901", "13800138000-1234", "138001380001"]

    for raw in raws:
        result = check_phone(raw, expires_at=NOW - timedelta(days=1), now=NOW)
        digits = raw.split("-")[0]
        assert all(digits not in str(f.data) for f in result.findings), raw


def test_mask_digits_keeps_at_most_seven_digits_of_a_mobile():
    assert [mask_digits(s) for s in ("13800138000", "057188888888", "88888888", "1234")] == [
        "138****8000",
        "057*****8888",
        "****8888",
        "****",
    ]


_VALID_BLOCKS = ["130", "133", "135", "138", "139", "150", "155", "158", "186", "188", "189"]
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@given(
    block=st.sampled_from(_VALID_BLOCKS),
    rest=st.text(alphabet="0123456789", min_size=8, max_size=8),
    full_width=st.booleans(),
    style=st.sampled_from(["plain", "spaced", "dashed", "+86", "0086"]),
)
def test_any_mobile_in_a_valid_block_is_accepted_whatever_its_formatting(block, rest, full_width, style):
    number = block + rest
    text = {
        "plain": number,
        "spaced": f"{number[:3]} {number[3:7]} {number[7:]}",
        "dashed": f"{number[:3]}-{number[3:7]}-{number[7:]}",
        "+86": f"+86 {number}",
        "0086": f"0086{number}",
    }[style]
    if full_width:
        text = text.translate(_FULL_WIDTH)

    result = check_phone(text, now=NOW)

    assert (result.normalised, result.kind, result.findings) == (number, PhoneKind.MOBILE, ())


def test_mobile_verdict_depends_only_on_the_memo_prefix():
    """The memo in check_phone is keyed by the first MEMO_PREFIX digits: for every such prefix,
    phonenumbers must give the same verdict whatever the remaining digits are."""
    import random

    from orderguard.validation.phone import MEMO_PREFIX, mobile_verdict

    rng = random.Random(20261126)
    rest = 11 - MEMO_PREFIX
    disagreements = []
    for n in range(10 ** (MEMO_PREFIX - 1)):
        prefix = "1" + str(n).zfill(MEMO_PREFIX - 1)
        suffixes = ["0" * rest, "9" * rest, *(str(rng.randrange(10**rest)).zfill(rest) for _ in range(3))]
        verdicts = {mobile_verdict(prefix + s) for s in suffixes}
        if len(verdicts) > 1:
            disagreements.append(prefix)
    assert disagreements == []


# --- service numbers, landline lengths, the area code and the address ----------------------------


def test_service_numbers_are_not_a_recipient_phone():
    cases = {
        "400-800-8888": ("4008008888", "hotline", 10),
        "4008123456": ("4008123456", "hotline", 10),
        "800 810 8888": ("8008108888", "hotline", 10),
        "95588": ("95588", "service", 5),
        "95105888": ("95105888", "service", 8),
        "96333": ("96333", "service", 5),
        "10086": ("10086", "short", 5),
        "110": ("110", "short", 3),
        "12345": ("12345", "short", 5),
        "+86 95588": ("95588", "service", 5),
    }

    for raw, (normalised, reason, digits) in cases.items():
        result = check_phone(raw, now=NOW)
        assert (
            raw,
            result.normalised,
            result.kind,
            [(f.code, f.severity, f.data) for f in result.findings],
        ) == (
            raw,
            normalised,
            PhoneKind.SERVICE,
            [("PHONE_SERVICE_NUMBER", Severity.BLOCKING, {"reason": reason, "digits": digits})],
        )


def test_landline_number_must_have_seven_or_eight_digits_after_its_area_code():
    cases = {
        "010-123456": ("010", 6),
        "021-123456789": ("021", 9),
        "0571-123456": ("0571", 6),
        "0571-123456789": ("0571", 9),
    }

    for raw, (area_code, subscriber) in cases.items():
        result = check_phone(raw, now=NOW)
        digits = raw.replace("-", "")
        assert (raw, result.kind, [(f.code, f.data) for f in result.findings]) == (
            raw,
            PhoneKind.INVALID,
            [
                (
                    "PHONE_BAD_LENGTH",
                    {
                        "reason": "landline",
                        "digits": len(digits),
                        "area_code": area_code,
                        "subscriber": subscriber,
                        "masked": mask_digits(digits),
                    },
                )
            ],
        )


def test_area_code_length_follows_the_city():
    assert [
        (check_phone(raw, now=NOW).kind, check_phone(raw, now=NOW).normalised)
        for raw in ("010-12345678", "020-12345678", "0571-88888888", "0755-12345678", "0728-1234567")
    ] == [
        (PhoneKind.LANDLINE, "01012345678"),
        (PhoneKind.LANDLINE, "02012345678"),
        (PhoneKind.LANDLINE, "057188888888"),
        (PhoneKind.LANDLINE, "075512345678"),
        (PhoneKind.LANDLINE, "07281234567"),
    ]


def test_landline_of_another_city_than_the_address_is_a_warning():
    result = check_phone("0571-88888888", now=NOW)

    findings = check_area_code(result, province="江苏省", city="南京市")

    assert [(f.code, f.severity, f.field, f.data) for f in findings] == [
        (
            "PHONE_AREA_CODE_MISMATCH",
            Severity.WARNING,
            "recipient_phone",
            {"area_code": "0571", "area_place": "浙江省杭州市", "city": "南京市"},
        )
    ]


def test_landline_of_the_address_city_is_fine():
    assert check_area_code(check_phone("0571-88888888", now=NOW), province="浙江省", city="杭州市") == []
    assert check_area_code(check_phone("010-12345678", now=NOW), province="北京市", city="北京市") == []
    assert check_area_code(check_phone("021-12345678", now=NOW), province="上海市", city="") == []


def test_an_area_code_shared_by_several_cities_fits_each_of_them():
    # 0728 is 仙桃, 潜江 and 天门 (county-level cities directly under 湖北省)
    for city in ("仙桃市", "潜江市", "天门市"):
        assert check_area_code(check_phone("0728-1234567", now=NOW), province="湖北省", city=city) == []
    assert [
        f.code
        for f in check_area_code(check_phone("0728-1234567", now=NOW), province="湖北省", city="武汉市")
    ] == ["PHONE_AREA_CODE_MISMATCH"]


def test_area_code_is_not_compared_for_mobiles_or_unknown_cities():
    assert check_area_code(check_phone("13800138000", now=NOW), province="浙江省", city="杭州市") == []
    assert check_area_code(check_phone("0571-88888888", now=NOW), province="", city="") == []


def test_area_code_places_come_from_the_geocoder_data():
    assert [area_code_place(code) for code in ("010", "021", "0571", "0755", "0991")] == [
        "北京市",
        "上海市",
        "浙江省杭州市",
        "广东省深圳市",
        "新疆维吾尔自治区乌鲁木齐市",
    ]


# --- expiry of virtual numbers ---------------------------------------------------------------------


def test_virtual_number_expiring_within_two_days_warns_before_it_expires():
    result = check_phone("13800138000-1234", expires_at=NOW + timedelta(hours=5, minutes=30), now=NOW)

    assert [(f.code, f.severity, f.data) for f in result.findings] == [
        (
            "PHONE_VIRTUAL",
            Severity.WARNING,
            {"masked": "138****8000", "has_extension": True, "expires_at": "2025-06-01T17:30:00+00:00"},
        ),
        (
            "PHONE_VIRTUAL_EXPIRING",
            Severity.WARNING,
            {"masked": "138****8000", "expires_at": "2025-06-01T17:30:00+00:00", "hours_left": 5},
        ),
    ]
    assert result.blocking is False


def test_virtual_number_expiring_later_than_two_days_is_only_virtual():
    result = check_phone("13800138000-1234", expires_at=NOW + timedelta(hours=48, seconds=1), now=NOW)

    assert [f.code for f in result.findings] == ["PHONE_VIRTUAL"]


def test_platform_expiry_is_read_from_the_order_extra():
    assert platform_phone_expiry({"virtual_tel_expire_time": 1735436340}) == datetime(
        2024, 12, 29, 1, 39, tzinfo=UTC
    )
    assert platform_phone_expiry(
        {"tel_number_ext_info": {"virtual_tel_expire_time": "1735436340"}}
    ) == datetime(2024, 12, 29, 1, 39, tzinfo=UTC)
    assert platform_phone_expiry({"expiration_time": "2025-06-02 08:00:00"}) == datetime(
        2025, 6, 2, 0, 0, tzinfo=UTC
    )
    assert platform_phone_expiry({"phone_expires_at": "2025-06-02T08:00:00+00:00"}) == datetime(
        2025, 6, 2, 8, 0, tzinfo=UTC
    )


def test_unreadable_platform_expiry_is_none():
    for extra in ({}, {"expiration_time": "soon"}, {"virtual_tel_expire_time": True}, {"tags": ["x"]}, None):
        assert (extra, platform_phone_expiry(extra)) == (extra, None)


# --- bad input ------------------------------------------------------------------------------------


def test_bad_input_is_a_finding_never_an_exception():
    cases = {
        "": "PHONE_MISSING",
        "\x00\x07": "PHONE_MISSING",
        "\u200b": "PHONE_MISSING",
        "1" * 10_000: "PHONE_MALFORMED",
        "😀": "PHONE_MALFORMED",
        "138😀00138000": "PHONE_MALFORMED",
        "電話１３８": "PHONE_MALFORMED",
        "Телефон 138": "PHONE_MALFORMED",
        "0": "PHONE_BAD_LENGTH",
        "00": "PHONE_BAD_LENGTH",
        "--": "PHONE_MISSING",
        "+": "PHONE_MALFORMED",
        "*": "PHONE_MASKED",
        "转123": "PHONE_MALFORMED",
    }

    for raw, code in cases.items():
        result = check_phone(raw, now=NOW)
        assert (raw[:20], [f.code for f in result.findings]) == (raw[:20], [code])


def test_control_characters_inside_a_number_are_dropped():
    for raw in ("1380\x000138000", "1380013\t8000", "\ufeff13800138000", "138\u200b00138000"):
        result = check_phone(raw, now=NOW)
        assert (repr(raw), result.normalised, result.kind) == (repr(raw), "13800138000", PhoneKind.MOBILE)


def test_normalise_folds_full_width_and_drops_formatting():
    assert [
        normalise(s)
        for s in ("＋８６ １３８－００１３－８０００", "'13800138000", '="13800138000"', "(0571) 8888.8888")
    ] == [
        "+86138-0013-8000",
        "13800138000",
        "13800138000",
        "057188888888",
    ]


@given(st.text(max_size=80))
def test_normalising_twice_gives_the_same_as_once(raw):
    once = normalise(raw)

    assert normalise(once) == once


@given(
    st.one_of(
        st.text(max_size=80),
        st.text(alphabet="0123456789+-*#转 ()xX０１２３４５６７８９－＊", max_size=30),
        st.from_regex(r"\A(\+86|0086|86)?1[3-9]\d{9}([-#,转]\d{1,6})?\Z"),
    ),
    st.sampled_from(["CN", "US", "GB", "", "HK", "ZZ", "中国"]),
    st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
)
def test_phone_policy_never_raises_and_its_storage_form_is_stable(raw, country, expires_at):
    result = check_phone(raw, country=country, expires_at=expires_at, now=NOW)

    assert {f.field for f in result.findings} <= {"recipient_phone"}
    if result.kind in (PhoneKind.MOBILE, PhoneKind.LANDLINE, PhoneKind.FOREIGN, PhoneKind.MASKED):
        again = check_phone(result.normalised, country=country, now=NOW)
        assert (again.normalised, again.kind) == (result.normalised, result.kind)
