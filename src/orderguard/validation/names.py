"""Recipient name check (D2).

- empty, or a placeholder (``无``, ``未知``, ``null``) → NAME_MISSING (blocking);
- longer than 50 characters, containing a phone number (a CN mobile, or 7+ digits in a row), or
  made only of digits and punctuation → NAME_INVALID (blocking; `data.reason` says which);
- stars (``林**``, ``*三``, ``林*明``, or all stars) → NAME_MASKED (a warning: platforms mask names
  under their privacy rules and the e-waybill still ships; see formats/privacy_phone_formats.md).

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

_PLACEHOLDERS = frozenset({"无", "暂无", "未知", "空", "null", "none", "nil", "n/a", "undefined"})
_PHONE_IN_TEXT = re.compile(r"1[3-9]\d{9}|\d{7,}")
_SPACES = re.compile(r"\s+")


def _finding(code: str, severity: Severity = Severity.BLOCKING, **data: Any) -> Finding:
    return Finding(code=code, type=ExceptionType.RECIPIENT_ERROR, field=FIELD, severity=severity, data=data)


def _has_letter(text: str) -> bool:
    # A letter of any script (Han characters are category Lo); digits, punctuation, symbols and
    # the mask star are not.
    return any(unicodedata.category(c)[0] == "L" for c in text)


def check_name(raw: str | None) -> list[Finding]:
    """Findings about a recipient name (empty list when it is fine)."""
    text = raw or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = _SPACES.sub(" ", text.strip())
    if not text or text.casefold() in _PLACEHOLDERS:
        return [_finding(NAME_MISSING)]
    if len(text) > MAX_LENGTH:
        return [_finding(NAME_INVALID, reason="too_long", length=len(text))]
    if _PHONE_IN_TEXT.search(text):
        return [_finding(NAME_INVALID, reason="contains_phone", length=len(text))]
    if "*" in text:
        return [_finding(NAME_MASKED, Severity.WARNING, length=len(text))]
    if not _has_letter(text):
        return [_finding(NAME_INVALID, reason="no_letters", length=len(text))]
    return []
