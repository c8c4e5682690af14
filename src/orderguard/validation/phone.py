"""Recipient phone check (D2): what kind of number it is, its storage form, and what is wrong.

Order of the policy (each step on the text left by the one before):

1. Fast path: 11 ASCII digits starting with ``1`` on a CN order without an expiry. Whether a CN
   mobile is valid depends only on its number block (号段): phonenumbers' CN mobile pattern looks
   at no more than the first 5 digits and the length is fixed at 11, so its verdict is memoised per
   5-digit prefix (a test holds the installed phonenumbers to that) and the common case costs one
   dict lookup.
2. NFKC (full-width digits, ``＋``, ``－``, ``＊``), an export's leading apostrophe or ``=``/quotes
   removed, spaces, dots and parentheses dropped, every dash variant made ``-``.
3. Empty or a placeholder (``无``, ``null``) → PHONE_MISSING.
4. An extension after ``转``, ``分机``, ``ext``, ``#``, ``,``, ``_`` or ``x`` (1-6 digits) is split off.
5. ``+86``, ``0086`` or a bare ``86`` before a mobile are dropped; another ``+``/``00`` country code
   makes a foreign number, checked by phonenumbers.
6. Stars (or a run of 3+ ``x``) → masked (PHONE_MASKED, a warning: the platform's e-waybill still
   ships it, see formats/privacy_phone_formats.md).
7. ``<11 or 12 digits starting with 1>-<1..6 digits>`` is a virtual number with extension (WeChat
   shows 12 digits before the dash); ``0571-88888888-123`` is a landline with extension; other
   dashes are formatting (``138-0013-8000``). A number with an extension on a mobile, or any number
   that comes with an expiry (`expires_at`, Taobao AXB numbers have none), is virtual:
   PHONE_VIRTUAL (warning), plus PHONE_VIRTUAL_EXPIRED (blocking) once the expiry has passed.
   A virtual number whose expiry is less than EXPIRY_WARNING ahead also gets
   PHONE_VIRTUAL_EXPIRING (warning), so the call is made while the number still answers.
8. Anything but digits left → PHONE_MALFORMED (so is text longer than MAX_INPUT characters:
   no phone is that long, and the rest of the policy is not run on it).
9. Service numbers are not a recipient's phone → PHONE_SERVICE_NUMBER (blocking): ``400``/``800``
   hotlines (10 digits), ``95xxx``/``96xxx`` (5-8 digits: banks, carriers, utilities) and short
   numbers starting with ``1`` (3-5 digits: 110, 10086, 12345).
10. Starting with ``1`` and not 11 digits → PHONE_BAD_LENGTH; 11 digits outside any mobile block
   (12x, 10x, 140) → PHONE_INVALID; 7-8 digits without an area code → PHONE_INVALID.
11. ``0…`` is a landline: its area code has 3 digits for Beijing (010) and the 02x cities and 4
   digits elsewhere, and the number after it 7 or 8 (PHONE_BAD_LENGTH with reason ``landline``
   otherwise); then phonenumbers decides. Where the order's city is known,
   `check_area_code` compares it with the area code's city (phonenumbers' geocoder data):
   PHONE_AREA_CODE_MISMATCH is a warning (people give an office number in another city).

Whether a well-formed number answers is not guessed here: contact attempts on a case say so.

Findings never carry the number in clear: ``masked`` is ``138****8000``-style.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType, ValidationResult, geocoder

from orderguard.core.choices import ExceptionType, Severity
from orderguard.core.findings import Finding

FIELD = "recipient_phone"

PHONE_MISSING = "PHONE_MISSING"
PHONE_MALFORMED = "PHONE_MALFORMED"
PHONE_BAD_LENGTH = "PHONE_BAD_LENGTH"
PHONE_INVALID = "PHONE_INVALID"
PHONE_MASKED = "PHONE_MASKED"
PHONE_VIRTUAL = "PHONE_VIRTUAL"
PHONE_VIRTUAL_EXPIRED = "PHONE_VIRTUAL_EXPIRED"
PHONE_VIRTUAL_EXPIRING = "PHONE_VIRTUAL_EXPIRING"
PHONE_SERVICE_NUMBER = "PHONE_SERVICE_NUMBER"
PHONE_AREA_CODE_MISMATCH = "PHONE_AREA_CODE_MISMATCH"

# A virtual number expiring sooner than this is worth calling (or renewing) now.
EXPIRY_WARNING = timedelta(hours=48)
# No phone with its extension and formatting is longer; longer text is something else.
MAX_INPUT = 64


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("手机")
    LANDLINE = "landline", _("固定电话")
    MASKED = "masked", _("打码号码")
    VIRTUAL = "virtual", _("虚拟号")
    FOREIGN = "foreign", _("境外号码")
    SERVICE = "service", _("服务号码")
    EMPTY = "empty", _("空")
    INVALID = "invalid", _("无效")


@dataclass(frozen=True, slots=True)
class PhoneResult:
    """`normalised` is the storage form: a CN mobile as its 11 digits, a CN landline as
    ``0`` + area code + number (``057188888888``), a foreign number in E.164 (``+14155552671``), a
    masked one as received without formatting (``138****0000``), an unparseable one as its digits
    (may be empty)."""

    normalised: str
    kind: PhoneKind
    extension: str = ""
    findings: tuple[Finding, ...] = ()

    @property
    def masked(self) -> str:
        """A form safe to show to any role and to log."""
        return mask_digits(self.normalised)

    @property
    def blocking(self) -> bool:
        return any(f.severity == Severity.BLOCKING for f in self.findings)


def mask_digits(number: str) -> str:
    """``13800138000`` → ``138****8000``; shorter strings keep only their last 4 characters
    (``1380013800`` → ``******3800``), 4 or fewer are all stars."""
    if "*" in number:
        return number
    size = len(number)
    if size >= 11:
        return number[:3] + "*" * (size - 7) + number[-4:]
    if size > 4:
        return "*" * (size - 4) + number[-4:]
    return "*" * size


def _finding(code: str, severity: Severity = Severity.BLOCKING, **data: Any) -> Finding:
    return Finding(code=code, type=ExceptionType.RECIPIENT_ERROR, field=FIELD, severity=severity, data=data)


# --- CN mobile blocks ----------------------------------------------------------------------------

# phonenumbers' CN mobile pattern decides on the first five digits (1 + three-digit network
# code + the first digit after it); the test `test_mobile_verdict_depends_only_on_the_memo_prefix`
# checks that against the installed phonenumbers for every prefix, so an update of its data
# that looks deeper fails the suite instead of silently misjudging numbers.
MEMO_PREFIX = 5
_prefix_cache: dict[str, bool] = {}


def mobile_verdict(digits: str) -> bool:
    """phonenumbers' own verdict on an 11-digit number starting with 1 (uncached)."""
    number = PhoneNumber(country_code=86, national_number=int(digits))
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def _mobile_block_valid(digits: str) -> bool:
    """`mobile_verdict`, memoised per MEMO_PREFIX-digit prefix (at most 10^4 entries)."""
    prefix = digits[:MEMO_PREFIX]
    verdict = _prefix_cache.get(prefix)
    if verdict is None:
        verdict = _prefix_cache[prefix] = mobile_verdict(digits)
    return verdict


def _mobile(digits: str) -> PhoneResult:
    if _mobile_block_valid(digits):
        return PhoneResult(normalised=digits, kind=PhoneKind.MOBILE)
    return PhoneResult(
        normalised=digits,
        kind=PhoneKind.INVALID,
        findings=(_finding(PHONE_INVALID, digits=11, masked=mask_digits(digits)),),
    )


# --- the general path ----------------------------------------------------------------------------

_CN = frozenset({"CN", "CHN", "", "中国", "CHINA"})
_PLACEHOLDERS = frozenset(
    {"无", "暂无", "空", "没有", "未知", "null", "none", "nil", "n/a", "na", "-", "/", "--"}
)
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−~～"})
_FORMATTING = re.compile(r"[\s.()\[\]]+")
_EXTENSION = re.compile(r"^(?P<main>.+?)(?:转|分机|ext\.?|#|,|_|(?<=\d)x)(?P<ext>\d{1,6})$", re.IGNORECASE)
_X_RUN = re.compile(r"[xX]{3,}")
_MASKED_SHAPE = re.compile(r"^\d*\*+\d*$")
_LENGTH_REASONS = frozenset(
    {ValidationResult.TOO_SHORT, ValidationResult.TOO_LONG, ValidationResult.INVALID_LENGTH}
)


def _region(country: str) -> str:
    code = (country or "").strip().upper()
    return "CN" if code in _CN else code


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]+")


def _normalise_once(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = _FORMATTING.sub("", _CONTROL.sub("", text).translate(_DASHES))
    return text.lstrip("'=\"").rstrip('"')


def normalise(raw: str) -> str:
    """The policy's text step: NFKC (full-width digits, ``＋``, ``＊``), control and zero-width
    characters, an export's apostrophe, ``=`` and quotes, spaces, dots and brackets removed, every
    dash made ``-``. Idempotent: ``normalise(normalise(s)) == normalise(s)`` (removing a character
    can let NFKC compose its neighbours, so the step is repeated until nothing changes)."""
    text = _normalise_once(raw)
    if raw.isascii():
        return text  # no NFKC: one pass leaves nothing to remove
    for _attempt in range(3):
        again = _normalise_once(text)
        if again == text:
            break
        text = again
    return text


_clean = normalise


def _parsed_result(number: PhoneNumber, digits: str, extension: str) -> PhoneResult:
    """The verdict on a number phonenumbers has parsed."""
    if phonenumbers.is_valid_number(number):
        if number.country_code != 86:
            normalised = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return PhoneResult(normalised=normalised, kind=PhoneKind.FOREIGN, extension=extension)
        if phonenumbers.number_type(number) == PhoneNumberType.MOBILE:
            return PhoneResult(
                normalised=str(number.national_number), kind=PhoneKind.MOBILE, extension=extension
            )
        # The national form carries the trunk 0 where one is dialled (0571…) and none for 400/800.
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        normalised = "".join(c for c in national if c.isdigit())
        return PhoneResult(normalised=normalised, kind=PhoneKind.LANDLINE, extension=extension)
    data: dict[str, Any] = {"digits": len(digits), "masked": mask_digits(digits)}
    if phonenumbers.is_possible_number_with_reason(number) in _LENGTH_REASONS:
        code = PHONE_BAD_LENGTH
    else:
        code = PHONE_INVALID
        if number.country_code == 86 and not digits.startswith(("0", "1")) and 7 <= len(digits) <= 8:
            data["reason"] = "no_area_code"
    return PhoneResult(
        normalised=digits, kind=PhoneKind.INVALID, extension=extension, findings=(_finding(code, **data),)
    )


def _valid_cn(digits: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(digits, "CN"))
    except NumberParseException:
        return False


def _parse(digits: str, region: str | None, extension: str) -> PhoneResult:
    text = "+" + digits if region is None else digits
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return PhoneResult(
            normalised=digits,
            kind=PhoneKind.INVALID,
            extension=extension,
            findings=(_finding(PHONE_INVALID, digits=len(digits), masked=mask_digits(digits)),),
        )
    return _parsed_result(number, digits, extension)


# Service numbers (reason → what they are): company hotlines, the 95/96 numbers of banks,
# carriers and utilities, and the short numbers of emergency services and carriers.
HOTLINE, SERVICE_5, SHORT = "hotline", "service", "short"


def _service_kind(digits: str) -> str:
    """The kind of service number `digits` is, or "" for a number a person may answer."""
    size = len(digits)
    if size == 10 and digits.startswith(("400", "800")):
        return HOTLINE
    if 5 <= size <= 8 and digits.startswith(("95", "96")):
        return SERVICE_5
    if 3 <= size <= 5 and digits[0] == "1":
        return SHORT
    return ""


def _malformed(raw: str) -> PhoneResult:
    return PhoneResult(
        normalised="", kind=PhoneKind.INVALID, findings=(_finding(PHONE_MALFORMED, length=len(raw)),)
    )


def _virtual(
    base: str, extension: str, expires_at: datetime | None, now: datetime, verdict: PhoneResult | None
) -> PhoneResult:
    if verdict is not None and verdict.kind == PhoneKind.INVALID:
        return PhoneResult(
            normalised=verdict.normalised,
            kind=PhoneKind.INVALID,
            extension=extension,
            findings=verdict.findings,
        )
    data: dict[str, Any] = {"masked": mask_digits(base), "has_extension": bool(extension)}
    if expires_at is not None:
        data["expires_at"] = expires_at.isoformat()
    findings = [_finding(PHONE_VIRTUAL, Severity.WARNING, **data)]
    if expires_at is not None:
        if expires_at.tzinfo is None and now.tzinfo is not None:
            expires_at = expires_at.replace(tzinfo=now.tzinfo)
        elif expires_at.tzinfo is not None and now.tzinfo is None:
            now = now.replace(tzinfo=expires_at.tzinfo)
        if expires_at <= now:
            findings.append(
                _finding(PHONE_VIRTUAL_EXPIRED, masked=mask_digits(base), expired_at=expires_at.isoformat())
            )
        elif expires_at - now <= EXPIRY_WARNING:
            findings.append(
                _finding(
                    PHONE_VIRTUAL_EXPIRING,
                    Severity.WARNING,
                    masked=mask_digits(base),
                    expires_at=expires_at.isoformat(),
                    hours_left=int((expires_at - now).total_seconds() // 3600),
                )
            )
    return PhoneResult(normalised=base, kind=PhoneKind.VIRTUAL, extension=extension, findings=tuple(findings))


def check_phone(
    raw: str, *, country: str = "CN", expires_at: datetime | None = None, now: datetime
) -> PhoneResult:
    """Classify and check a recipient phone (see the module docstring for the policy).

    `country` is the order's destination (ISO 3166 alpha-2; ``CN`` by default): a number without a
    country code is read as that country's. `expires_at` is the platform's expiry of a virtual
    number; a naive datetime is read in `now`'s time zone.
    """
    if (
        expires_at is None
        and raw
        and len(raw) == 11
        and raw[0] == "1"
        and raw.isdigit()
        and raw.isascii()
        and (country == "CN" or _region(country) == "CN")
    ):
        return _mobile(raw)
    return _check_general(raw or "", _region(country), expires_at, now)


def _check_general(raw: str, region: str, expires_at: datetime | None, now: datetime) -> PhoneResult:
    text = _clean(raw)
    if not text or text.casefold() in _PLACEHOLDERS:
        return PhoneResult(normalised="", kind=PhoneKind.EMPTY, findings=(_finding(PHONE_MISSING),))
    if len(text) > MAX_INPUT:
        return _malformed(raw)

    extension = ""
    explicit = _EXTENSION.match(text)
    if explicit:
        text, extension = explicit.group("main").rstrip("-"), explicit.group("ext")

    international = False
    if text.startswith("+86"):
        text = text[3:].lstrip("-")
    elif text.startswith("0086"):
        text = text[4:].lstrip("-")
    elif text.startswith("+") or (text.startswith("00") and len(text.replace("-", "")) > 10):
        text = text.lstrip("+")
        text = text[2:] if text.startswith("00") else text
        international = True

    text = _X_RUN.sub(lambda m: "*" * len(m.group(0)), text)
    if "*" in text:
        shape = text.replace("-", "")
        if not _MASKED_SHAPE.match(shape):
            return _malformed(raw)
        if len(shape) == 13 and shape.startswith("861"):
            shape = shape[2:]
        return PhoneResult(
            normalised=shape,
            kind=PhoneKind.MASKED,
            extension=extension,
            findings=(_finding(PHONE_MASKED, Severity.WARNING, masked=shape),),
        )

    groups = [g for g in text.split("-") if g]
    if not groups or not all(g.isdigit() and g.isascii() for g in groups):
        return _malformed(raw)
    if not extension and not international and len(groups) >= 2:
        head = groups[0]
        if len(groups) == 2 and head[0] == "1" and len(head) in (11, 12) and len(groups[1]) <= 6:
            groups, extension = [head], groups[1]
        elif len(groups) == 3 and head[0] == "0" and len(groups[2]) <= 6 and _valid_cn(head + groups[1]):
            # 0571-88888888-123: a landline and its extension, unless the three groups are one number.
            groups, extension = groups[:2], groups[2]
    digits = "".join(groups)

    if international:
        return _parse(digits, None, extension)
    if region != "CN":
        result = _parse(digits, region, extension)
        if (
            result.kind == PhoneKind.INVALID
            and len(digits) == 11
            and digits[0] == "1"
            and _mobile_block_valid(digits)
        ):
            result = PhoneResult(normalised=digits, kind=PhoneKind.MOBILE, extension=extension)
        return result

    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    service = _service_kind(digits)
    if service:
        return PhoneResult(
            normalised=digits,
            kind=PhoneKind.SERVICE,
            extension=extension,
            findings=(_finding(PHONE_SERVICE_NUMBER, reason=service, digits=len(digits)),),
        )
    if digits[0] == "0":
        area_size = 3 if digits[1:2] in ("1", "2") else 4
        subscriber = len(digits) - area_size
        if not 7 <= subscriber <= 8:
            return PhoneResult(
                normalised=digits,
                kind=PhoneKind.INVALID,
                extension=extension,
                findings=(
                    _finding(
                        PHONE_BAD_LENGTH,
                        reason="landline",
                        digits=len(digits),
                        area_code=digits[:area_size],
                        subscriber=max(subscriber, 0),
                        masked=mask_digits(digits),
                    ),
                ),
            )
    if digits[0] == "1":
        virtual = bool(extension) or expires_at is not None
        if len(digits) == 12 and virtual:
            # WeChat Channels' virtual numbers have 12 digits: a platform relay, not a dialable block.
            return _virtual(digits, extension, expires_at, now, None)
        if len(digits) != 11:
            return PhoneResult(
                normalised=digits,
                kind=PhoneKind.INVALID,
                extension=extension,
                findings=(_finding(PHONE_BAD_LENGTH, digits=len(digits), masked=mask_digits(digits)),),
            )
        verdict = _mobile(digits)
        if virtual:
            return _virtual(digits, extension, expires_at, now, verdict)
        return verdict
    return _parse(digits, "CN", extension)


# --- area code against the address ---------------------------------------------------------------


@lru_cache(maxsize=1024)
def area_code_place(area_code: str) -> str:
    """Where a CN landline area code is, in phonenumbers' geocoder data (``0571`` →
    ``浙江省杭州市``); "" when the data does not say. Cached per area code."""
    # Cities differ in number length (7 or 8 digits); the data answers only for a valid one.
    for subscriber in ("88888888", "8888888"):
        number = PhoneNumber(country_code=86, national_number=int(area_code[1:] + subscriber))
        place = geocoder.description_for_number(number, "zh")
        if place and place != "中国":
            return place
    return ""


def _stem(name: str) -> str:
    for suffix in ("市", "地区", "盟", "自治州"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def check_area_code(phone: PhoneResult, *, province: str, city: str) -> list[Finding]:
    """PHONE_AREA_CODE_MISMATCH (a warning) when a CN landline's area code belongs to another city
    than the address's. `province` and `city` are the parsed address's official names; nothing is
    said when either the number or the address does not name a city."""
    number = phone.normalised
    if phone.kind != PhoneKind.LANDLINE or not number.startswith("0") or not city:
        return []
    area_code = number[:3] if number[1:2] in ("1", "2") else number[:4]
    place = area_code_place(area_code)
    if not place:
        return []
    # Municipalities: the place is the municipality itself (北京市), which the address names as
    # its province (and as its city on platforms that repeat it).
    if _stem(city) in place or (province and place == province):
        return []
    return [
        _finding(
            PHONE_AREA_CODE_MISMATCH,
            Severity.WARNING,
            area_code=area_code,
            area_place=place,
            city=city,
        )
    ]


# --- the platform's expiry of a virtual number -------------------------------------------------

_SHANGHAI = ZoneInfo("Asia/Shanghai")
# Where platforms put it: WeChat Channels `tel_number_ext_info.virtual_tel_expire_time` (Unix
# seconds), Taobao's `expiration_time` (Beijing time text), or an ISO 8601 time.
EXPIRY_KEYS = ("phone_expires_at", "virtual_tel_expire_time", "expiration_time")


def _expiry_value(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("/", "-"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=_SHANGHAI)
    return None


def platform_phone_expiry(extra: Any) -> datetime | None:
    """A virtual number's expiry from an order's platform fields (`OrderIn.extra`), when an
    adapter kept one there; None when there is none or it cannot be read."""
    if not isinstance(extra, dict):
        return None
    for key in EXPIRY_KEYS:
        if key in extra:
            found = _expiry_value(extra[key])
            if found is not None:
                return found
    ext_info = extra.get("tel_number_ext_info")
    if isinstance(ext_info, dict):
        return _expiry_value(ext_info.get("virtual_tel_expire_time"))
    return None
