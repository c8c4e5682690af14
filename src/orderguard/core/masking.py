"""Masked forms of recipient data for every place that shows it to someone who may not see it
in clear (pages, API, exports, logs)."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """Keep the first three and last four digits of a mobile (``138****0000``); of anything
    else only the last four."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if not digits:
        return ""
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 4, 3) + digits[-4:]


def mask_name(name: str) -> str:
    """The first character and a star per further character (``张**``)."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_detail(detail: str) -> str:
    """The street address is hidden whole: its first characters alone can identify a home."""
    return "****" if detail.strip() else ""
