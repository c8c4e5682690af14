"""Special requests (T5) read from an order's notes and platform fields.

Sources, in this order: the platform's courier field (`requested_courier`) and service level,
then the buyer's note, then the seller's note. One finding per courier named and at most one
expedited finding per order; the first source that says it wins.

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
    for match in _EXPRESS_RE.finditer(text):
        if not _negated(text, match.start()):
            return match.group(0)
    return None


def service_level_is_express(value: str) -> bool:
    """Whether a platform's service level asks for express delivery (as `check_special` reads it)."""
    level = _clean(value).strip()
    return bool(level) and (level in _SERVICE_LEVEL_EXPRESS or _express_in(level) is not None)


def _finding(code: str, field_name: str, **data: object) -> Finding:
    return Finding(code=code, type=ExceptionType.SPECIAL_REQUEST, field=field_name, data=data)


def check_special(order: OrderIn) -> list[Finding]:
    """Special-request findings (designated courier, expedited delivery) of an order."""
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

    for field_name, raw in (("buyer_note", order.buyer_note), ("seller_note", order.seller_note)):
        text = _clean(raw)
        if not text:
            continue
        spans = []
        for code, negated, start, end in _couriers_in(text):
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
    return findings
