from orderguard.core.choices import ExceptionType, Severity
from orderguard.orders.schema import AddressIn
from orderguard.validation.abroad import check_abroad_address, country_rules, is_abroad


def summary(findings):
    return [(f.code, f.field, f.data) for f in findings]


def test_complete_addresses_abroad_pass():
    for address in (
        AddressIn(
            country="US",
            detail="1600 Amphitheatre Pkwy",
            city="Mountain View",
            province="CA",
            postcode="94043",
        ),
        AddressIn(country="US", detail="1 Main St", city="Austin", province="Texas", postcode="78701-1234"),
        AddressIn(country="GB", detail="10 Downing St", city="London", postcode="sw1a 2aa"),
        AddressIn(country="CA", detail="24 Sussex Dr", city="Ottawa", province="ON", postcode="K1M 1M4"),
        AddressIn(country="HK", detail="1 Queen's Rd", province="Hong Kong Island"),
        AddressIn(country="HK", detail="弥敦道1号", province="九龍"),
        AddressIn(country="DE", detail="Unter den Linden 1", city="Berlin", postcode="10117"),
        AddressIn(
            country="jp", detail="1-1 Chiyoda", city="Chiyoda-ku", province="Tokyo", postcode="100-0001"
        ),
    ):
        assert (address.country, check_abroad_address(address)) == (address.country, [])


def test_missing_required_fields_are_named_per_country():
    assert summary(check_abroad_address(AddressIn(country="US", detail="1 Main St"))) == [
        ("ADDRESS_NO_CITY", "address.city", {"country": "US"}),
        ("ADDRESS_NO_REGION", "address.province", {"country": "US"}),
        ("ADDRESS_NO_POSTCODE", "address.postcode", {"country": "US"}),
    ]
    assert summary(check_abroad_address(AddressIn(country="GB", city="London", postcode="SW1A 2AA"))) == [
        ("ADDRESS_NO_DETAIL", "address.detail", {"country": "GB"}),
    ]


def test_a_country_without_postcodes_does_not_ask_for_one():
    assert check_abroad_address(AddressIn(country="HK", detail="1 Queen's Rd", province="Kowloon")) == []
    assert check_abroad_address(AddressIn(country="AE", detail="Sheikh Zayed Rd 1", province="Dubai")) == []


def test_postcode_that_does_not_fit_the_country_is_invalid():
    findings = check_abroad_address(
        AddressIn(country="GB", detail="10 Downing St", city="London", postcode="12345")
    )

    assert summary(findings) == [
        ("ADDRESS_POSTCODE_INVALID", "address.postcode", {"country": "GB", "example": "EC1Y 8SY"})
    ]


def test_postcode_of_another_state_is_invalid():
    findings = check_abroad_address(
        AddressIn(
            country="US", detail="1 Main St", city="Los Angeles", province="California", postcode="10001"
        )
    )

    assert summary(findings) == [
        ("ADDRESS_POSTCODE_INVALID", "address.postcode", {"country": "US", "example": "90000"})
    ]


def test_unknown_state_is_named():
    findings = check_abroad_address(
        AddressIn(country="US", detail="1 Main St", city="Austin", province="Narnia", postcode="78701")
    )

    assert summary(findings) == [
        ("ADDRESS_REGION_UNKNOWN", "address.province", {"country": "US", "given": "Narnia"}),
    ]


def test_unknown_country_code_is_a_finding():
    for country in ("XX", "ZZ", "USA1", "美国"):
        assert (country, summary(check_abroad_address(AddressIn(country=country, detail="x")))) == (
            country,
            [("ADDRESS_COUNTRY_UNKNOWN", "address.country", {"country": country})],
        )


def test_empty_address_abroad_is_missing():
    assert summary(check_abroad_address(AddressIn(country="US"))) == [("ADDRESS_MISSING", "address", {})]
    assert summary(check_abroad_address(AddressIn(country="US", detail=" \x00 "))) == [
        ("ADDRESS_MISSING", "address", {})
    ]


def test_one_line_address_counts_as_the_street():
    assert (
        summary(
            check_abroad_address(
                AddressIn(country="DE", raw="Unter den Linden 1", city="Berlin", postcode="10117")
            )
        )
        == []
    )


def test_findings_are_blocking_recipient_errors_and_never_repeat_the_street_or_postcode():
    findings = check_abroad_address(
        AddressIn(country="GB", detail="10 Downing St", city="London", postcode="99999")
    ) + check_abroad_address(AddressIn(country="US", detail="742 Evergreen Terrace"))

    assert {(f.type, f.severity) for f in findings} == {(ExceptionType.RECIPIENT_ERROR, Severity.BLOCKING)}
    assert all("99999" not in str(f.data) and "Evergreen" not in str(f.data) for f in findings)


def test_long_text_in_the_state_box_is_not_repeated():
    long_text = "Flat 3, 25 Some Very Long Street Name, Somewhere"
    findings = check_abroad_address(
        AddressIn(country="US", detail="x", city="Austin", province=long_text, postcode="78701")
    )

    assert summary(findings) == [("ADDRESS_REGION_UNKNOWN", "address.province", {"country": "US"})]


def test_bad_input_abroad_is_a_finding_never_an_exception():
    for address in (
        AddressIn(
            country="US",
            detail="😀" * 5000,
            city="\u202e",
            province="Ｃａｌｉｆｏｒｎｉａ",
            postcode="９００１０",
        ),
        AddressIn(country="GB", detail="x" * 10_000, city="London", postcode="\x00"),
        AddressIn(country="US", detail="Main St 1", city="Austin", province="TX", postcode="7870１"),
    ):
        check_abroad_address(address)
    # full-width forms are folded first: California and 90010 fit
    assert (
        summary(
            check_abroad_address(
                AddressIn(
                    country="US",
                    detail="1 Main",
                    city="LA",
                    province="Ｃａｌｉｆｏｒｎｉａ",
                    postcode="９００１０",
                )
            )
        )
        == []
    )


def test_rules_are_read_once_per_country_and_region():
    country_rules.cache_clear()
    for _ in range(100):
        check_abroad_address(
            AddressIn(country="US", detail="1 Main St", city="Austin", province="TX", postcode="78701")
        )

    info = country_rules.cache_info()
    assert (info.misses, info.hits) == (2, 198)


def test_china_and_its_spellings_are_not_abroad():
    assert [is_abroad(c) for c in ("CN", "cn", "", "中国", "CHN", "HK", "US", "TW")] == [
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
    ]
