"""Special requests (T5, H5) read from an order's notes and platform fields.

Sources, in this order: the platform's fields (`requested_courier`, the service level, the
`extra` keys of `EXTRA_KEYS`), then the buyer's note, then the seller's note. One finding per
courier named and at most one finding of each other kind per order (expedited, delivery date or
time window, gift packing, no price slip); the first source that says it wins.

Matching rules:

- Courier names come from `COURIERS` (code → names and abbreviations). Latin abbreviations match
  as whole words, case-insensitively (``sf``, ``SF Express``; not ``SFA``, ``emsg``); Chinese
  names anywhere, except where they are part of a longer word in `NOT_A_COURIER` (``北京东路``
  holds 京东, ``邮政编码`` 邮政).
- Expedited words: `EXPRESS_WORDS`; the courier names are blanked out first so that
  ``SF Express`` or ``EMS特快专递`` do not also read as "expedited".
- Negation: a name or word is not a request when, within the same clause (not crossing
  ``，。；！？`` or a space), one of `NEGATIONS` (不要, 别, 不用, 不需要, 无需, 不发, 不走, 勿, ...) ends
  at most `NEGATION_WINDOW` characters before it (``不要发顺丰``, ``不用加急``, ``千万别发邮政``), or
  ``不`` stands right before it (``不加急``). A negation after the word (``加急就不用了``) is not
  understood and still counts as a request: an agent then reads the note, the safe direction.
- Delivery date or time window (`DELIVERY_WORDS`, and dates such as ``5月20日前送达``), gift
  packing (`GIFT_WORDS`), no price slip in the parcel (`NO_PRICE_WORDS`; these phrases carry
  their own 不, a negation before them still counts: ``不用不放发票`` is no request) follow the
  same negation rule. The no-price-slip phrases are blanked before couriers are looked for, so
  ``不要价格单顺丰发`` still asks for SF.
- "Other" (`SPECIAL_OTHER_REQUESTED`) is not read from notes: a customer-service report or a
  person opens it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping

from orderguard.core.choices import ExceptionType
from orderguard.core.findings import Finding
from orderguard.orders.schema import OrderIn

SPECIAL_COURIER_REQUESTED = "SPECIAL_COURIER_REQUESTED"
SPECIAL_EXPRESS_REQUESTED = "SPECIAL_EXPRESS_REQUESTED"
SPECIAL_DELIVERY_TIME_REQUESTED = "SPECIAL_DELIVERY_TIME_REQUESTED"
SPECIAL_GIFT_WRAP_REQUESTED = "SPECIAL_GIFT_WRAP_REQUESTED"
SPECIAL_NO_PRICE_SLIP_REQUESTED = "SPECIAL_NO_PRICE_SLIP_REQUESTED"
SPECIAL_OTHER_REQUESTED = "SPECIAL_OTHER_REQUESTED"
# Every finding code of a special request a person works through feasibility to dispatch (H5).
REQUEST_CODES = frozenset(
    {
        SPECIAL_COURIER_REQUESTED,
        SPECIAL_EXPRESS_REQUESTED,
        SPECIAL_DELIVERY_TIME_REQUESTED,
        SPECIAL_GIFT_WRAP_REQUESTED,
        SPECIAL_NO_PRICE_SLIP_REQUESTED,
        SPECIAL_OTHER_REQUESTED,
    }
)

# Courier code → names and abbreviations buyers and platforms use.
COURIERS: Mapping[str, tuple[str, ...]] = {
    "SF": ("顺丰", "順豐", "顺丰速运", "SF", "SF Express", "shunfeng"),
    "JD": ("京东", "京東", "京东快递", "京东物流", "JD", "JDL"),
    "EMS": ("EMS", "邮政", "郵政", "中国邮政", "邮政快递", "特快专递"),
    "ZTO": ("中通", "ZTO"),
    "YTO": ("圆通", "圓通", "YTO"),
    "YUNDA": ("韵达", "韻達", "Yunda"),
    "STO": ("申通", "STO"),
    "JTEXPRESS": ("极兔", "極兔", "J&T", "JT Express"),
    "DEPPON": ("德邦", "Deppon"),
}
# Longer words that contain a courier's name but are not about it.
NOT_A_COURIER: tuple[str, ...] = ("北京东", "南京东", "邮政编码", "圆通寺")

EXPRESS_WORDS: tuple[str, ...] = (
    "加急",
    "急件",
    "急用",
    "急需",
    "尽快发",
    "今天发",
    "当天发",
    "当日发",
    "当日达",
    "次日达",
    "加快",
    "特快",
    "express",
    "urgent",
    "asap",
)
DELIVERY_WORDS: tuple[str, ...] = (
    "送货时间",
    "送达时间",
    "配送时间",
    "收货时间",
    "指定时间",
    "指定日期",
    "定时达",
    "预约配送",
    "周末送",
    "周六送",
    "周日送",
    "工作日送",
    "上午送",
    "下午送",
    "晚上送",
    "节前送达",
)
# "5月20日前送达", "20号之前到", "6月1日送到"
# (a day alone needs 前: "3日到" says how long delivery takes, not when it is wanted)
_DELIVERY_DATE_RE = re.compile(
    r"(?:\d{1,2}月\d{1,2}[日号](?:之前|以前|前)?|\d{1,2}[日号](?:之前|以前|前))(?:送达|送到|到货|收到|到)"
)
GIFT_WORDS: tuple[str, ...] = ("礼品包装", "礼物包装", "包装成礼物", "礼盒", "贺卡", "gift wrap")
NO_PRICE_WORDS: tuple[str, ...] = (
    "不要价格单",
    "不放价格单",
    "不要放价格单",
    "不要小票",
    "不放小票",
    "不放发票",
    "不要放发票",
    "隐藏价格",
    "不显示价格",
    "不要价签",
    "去掉价签",
)
# Platform fields (`OrderIn.extra`) that carry one of these requests: key → finding code.
EXTRA_KEYS: Mapping[str, str] = {
    "delivery_time": SPECIAL_DELIVERY_TIME_REQUESTED,
    "appointment_time": SPECIAL_DELIVERY_TIME_REQUESTED,
    "gift_wrap": SPECIAL_GIFT_WRAP_REQUESTED,
    "gift_message": SPECIAL_GIFT_WRAP_REQUESTED,
    "hide_price": SPECIAL_NO_PRICE_SLIP_REQUESTED,
}
NEGATIONS: tuple[str, ...] = ("不需要", "不要", "不用", "不必", "无需", "不发", "不走", "别", "勿")
NEGATION_WINDOW = 4
_CLAUSE_BREAKS = frozenset(" \t\r\n,，.。;；!！?？、")
_SERVICE_LEVEL_EXPRESS = frozenset({"express", "expedited", "urgent", "加急", "特快"})


def _pattern(words: list[tuple[str, str]]) -> re.Pattern[str]:
    parts = []
    for word, _target in sorted(words, key=lambda w: -len(w[0])):
        if word.isascii():
            parts.append(rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])")
        else:
            parts.append(re.escape(word))
    return re.compile("|".join(parts))


_COURIER_BY_WORD = {name.lower(): code for code, names in COURIERS.items() for name in names}
_COURIER_RE = _pattern([(name, code) for name, code in _COURIER_BY_WORD.items()])
_EXPRESS_RE = _pattern([(word, word) for word in EXPRESS_WORDS])
_NOT_A_COURIER_RE = re.compile("|".join(re.escape(w) for w in NOT_A_COURIER))
_DELIVERY_RE = _pattern([(word, word) for word in DELIVERY_WORDS])
_GIFT_RE = _pattern([(word, word) for word in GIFT_WORDS])
_NO_PRICE_RE = _pattern([(word, word) for word in NO_PRICE_WORDS])


def _clean(text: str) -> str:
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.lower()


def _negated(text: str, start: int) -> bool:
    if start and text[start - 1] == "不":
        return True
    begin = start
    while begin > 0 and start - begin < NEGATION_WINDOW + 3 and text[begin - 1] not in _CLAUSE_BREAKS:
        begin -= 1
    before = text[begin:start]
    for word in NEGATIONS:
        at = before.rfind(word)
        if at >= 0 and len(before) - (at + len(word)) <= NEGATION_WINDOW:
            return True
    return False


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    # An ideographic space: not a clause break, so "不要顺丰加急" still negates 加急.
    chars = list(text)
    for start, end in spans:
        chars[start:end] = "\u3000" * (end - start)
    return "".join(chars)


def _couriers_in(text: str) -> Iterator[tuple[str, bool, int, int]]:
    """(courier code, negated, start, end) for every courier name in `text` (already cleaned)."""
    excluded = [m.span() for m in _NOT_A_COURIER_RE.finditer(text)] if _NOT_A_COURIER_RE.pattern else []
    for match in _COURIER_RE.finditer(text):
        start, end = match.span()
        if any(s <= start and end <= e for s, e in excluded):
            continue
        yield _COURIER_BY_WORD[match.group(0)], _negated(text, start), start, end


def _express_in(text: str) -> str | None:
    return _word_in(_EXPRESS_RE, text)


def _word_in(pattern: re.Pattern[str], text: str) -> str | None:
    """The first match of `pattern` in `text` that no negation takes back."""
    for match in pattern.finditer(text):
        if not _negated(text, match.start()):
            return match.group(0)
    return None


def _extra_requests(extra: Mapping[str, object]) -> dict[str, str]:
    """Finding code → the platform field that asks for it (a true flag or a non-empty text)."""
    found: dict[str, str] = {}
    for key, code in EXTRA_KEYS.items():
        value = extra.get(key)
        if code in found or value is None or value is False:
            continue
        if isinstance(value, str) and (not value.strip() or value.strip().lower() in ("0", "false", "no")):
            continue
        found[code] = key
    return found


def service_level_is_express(value: str) -> bool:
    """Whether a platform's service level asks for express delivery (as `check_special` reads it)."""
    level = _clean(value).strip()
    return bool(level) and (level in _SERVICE_LEVEL_EXPRESS or _express_in(level) is not None)


def _finding(code: str, field_name: str, **data: object) -> Finding:
    return Finding(code=code, type=ExceptionType.SPECIAL_REQUEST, field=field_name, data=data)


def check_special(order: OrderIn) -> list[Finding]:
    """Special-request findings of an order: designated courier, expedited delivery, delivery
    date or time window, gift packing, no price slip."""
    findings: list[Finding] = []
    couriers: set[str] = set()
    express = False

    platform_courier = _clean(order.requested_courier).strip()
    if platform_courier:
        named = [code for code, negated, _s, _e in _couriers_in(platform_courier) if not negated]
        code = named[0] if named else _COURIER_BY_WORD.get(platform_courier, "OTHER")
        couriers.add(code)
        data: dict[str, object] = {"courier": code, "source": "platform"}
        if code == "OTHER":
            data["given"] = order.requested_courier.strip()[:40]
        findings.append(_finding(SPECIAL_COURIER_REQUESTED, "requested_courier", **data))

    service_level = _clean(order.service_level).strip()
    if service_level and (service_level in _SERVICE_LEVEL_EXPRESS or _express_in(service_level)):
        express = True
        findings.append(
            _finding(
                SPECIAL_EXPRESS_REQUESTED, "service_level", source="platform", keyword=service_level[:20]
            )
        )

    others: dict[str, str] = {}  # finding code → where it was found
    extra = order.extra if isinstance(order.extra, dict) else {}
    for code, key in _extra_requests(extra).items():
        others[code] = "platform"
        findings.append(_finding(code, f"extra.{key}", source="platform", keyword=key))

    for field_name, raw in (("buyer_note", order.buyer_note), ("seller_note", order.seller_note)):
        text = _clean(raw)
        if not text:
            continue
        no_price = [m.span() for m in _NO_PRICE_RE.finditer(text)]
        spans = []
        for code, negated, start, end in _couriers_in(_blank(text, no_price) if no_price else text):
            spans.append((start, end))
            if negated or code in couriers:
                continue
            couriers.add(code)
            findings.append(_finding(SPECIAL_COURIER_REQUESTED, field_name, courier=code, source=field_name))
        if not express:
            keyword = _express_in(_blank(text, spans) if spans else text)
            if keyword is not None:
                express = True
                findings.append(
                    _finding(SPECIAL_EXPRESS_REQUESTED, field_name, source=field_name, keyword=keyword)
                )
        for code, keyword in (
            (SPECIAL_DELIVERY_TIME_REQUESTED, _delivery_in(text)),
            (SPECIAL_GIFT_WRAP_REQUESTED, _word_in(_GIFT_RE, text)),
            (SPECIAL_NO_PRICE_SLIP_REQUESTED, _word_in(_NO_PRICE_RE, text)),
        ):
            if keyword is not None and code not in others:
                others[code] = field_name
                findings.append(_finding(code, field_name, source=field_name, keyword=keyword[:20]))
    return findings


def _delivery_in(text: str) -> str | None:
    word = _word_in(_DELIVERY_RE, text)
    if word is not None:
        return word
    return _word_in(_DELIVERY_DATE_RE, text)
