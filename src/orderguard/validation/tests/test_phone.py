from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from orderguard.core.choices import ExceptionType, Severity
from orderguard.validation.phone import PhoneKind, check_phone, mask_digits

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
