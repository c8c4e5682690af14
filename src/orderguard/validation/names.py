"""Recipient name check (D2).

Every finding is a warning: a parcel with a good phone and address reaches its buyer whatever
the name says, so a doubtful name is for the agent to see, not a reason to hold the order (a
merchant can make any of them blocking through its severity overrides).

- empty, or a word for "none" (``无``, ``未知``, ``null``) → NAME_MISSING;
- longer than 50 characters, containing a phone number (a CN mobile, or 7+ digits in a row), or
  made only of digits, punctuation and emoji → NAME_INVALID (`data.reason` says which);
- stars (``林**``, ``*三``, ``林*明``, or all stars) → NAME_MASKED (platforms mask names under
  their privacy rules and the e-waybill still ships; see formats/privacy_phone_formats.md);
- a stand-in rather than a name (``测试``, ``test``, ``先生``/``女士``/``小姐`` alone, ``收件人``,
  ``买家``, ``x``, ``123``) → NAME_PLACEHOLDER. ``王先生`` is a name.

Control and zero-width characters are dropped and full-width forms folded (NFKC) first.
Findings carry the reason and the length, never the name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from orderguard.core.choices import ExceptionType, Severity
from orderguard.core.findings import Finding

FIELD = "recipient_name"
MAX_LENGTH = 50

NAME_MISSING = "NAME_MISSING"
NAME_MASKED = "NAME_MASKED"
NAME_INVALID = "NAME_INVALID"
NAME_PLACEHOLDER = "NAME_PLACEHOLDER"

_PLACEHOLDERS = frozenset({"无", "暂无", "未知", "空", "null", "none", "nil", "n/a", "undefined"})
_STAND_INS = frozenset(
    {
        "测试",
        "测试用户",
        "测试订单",
        "test",
        "tester",
        "先生",
        "女士",
        "小姐",
        "收件人",
        "收货人",
        "买家",
        "卖家",
        "客户",
        "顾客",
        "用户",
        "亲",
        "某某",
        "某人",
        "x",
        "xx",
        "xxx",
        "abc",
        "aaa",
        "asdf",
    }
)
# "测试1", "test 2", "买家123": a stand-in numbered; "123", "1111", "000": a run typed to fill the box.
_NUMBERED_STAND_IN = re.compile(
    r"^(?:测试|test|用户|买家|客户|收件人|收货人)\s*\d{0,4}$|^(?:123\d{0,6}|(\d)\1{2,9})$"
)
_PHONE_IN_TEXT = re.compile(r"1[3-9]\d{9}|\d{7,}")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]+")


def _finding(code: str, severity: Severity = Severity.WARNING, **data: Any) -> Finding:
    return Finding(code=code, type=ExceptionType.RECIPIENT_ERROR, field=FIELD, severity=severity, data=data)


def _has_letter(text: str) -> bool:
    # A letter of any script (Han characters are category Lo); digits, punctuation, symbols and
    # the mask star are not.
    return any(unicodedata.category(c)[0] == "L" for c in text)


def check_name(raw: str | None) -> list[Finding]:
    """Findings about a recipient name (empty list when it is fine)."""
    text = raw or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", _CONTROL.sub(" ", text))
    elif not text.isprintable():
        text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text.strip())
    folded = text.casefold()
    if not text or folded in _PLACEHOLDERS:
        return [_finding(NAME_MISSING)]
    if len(text) > MAX_LENGTH:
        return [_finding(NAME_INVALID, reason="too_long", length=len(text))]
    if folded in _STAND_INS or _NUMBERED_STAND_IN.match(folded):
        return [_finding(NAME_PLACEHOLDER, length=len(text))]
    if _PHONE_IN_TEXT.search(text):
        return [_finding(NAME_INVALID, reason="contains_phone", length=len(text))]
    if "*" in text:
        return [_finding(NAME_MASKED, length=len(text))]
    if not _has_letter(text):
        return [_finding(NAME_INVALID, reason="no_letters", length=len(text))]
    return []
