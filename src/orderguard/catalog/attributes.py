"""Product attributes (colour, size, spec, style) in one canonical form.

Platforms name the same attribute many ways (``颜色分类``, ``颜色``, ``color``) and write values
with full-width letters, stray spaces and mixed case. Orders and SKUs are both passed through
`normalise_attributes`, so comparing an ordered variant with a stocked one is a plain dict compare.

Value rules (applied in this order, memoised per (key, value)):

- NFKC (full-width ``ＸＬ`` → ``XL``), whitespace trimmed and collapsed, then ``casefold`` (affects
  Latin only: ``XL`` → ``xl``, ``Red`` → ``red``).
- colour: trailing ``色`` is stripped when at least one CJK character stays before it
  (``红色`` → ``红``, ``玫红色`` → ``玫红``, ``咖啡色`` → ``咖啡``). It is safe because a colour word
  with and without ``色`` names the same colour, and both the order and the SKU go through the same
  rule; a lone ``色`` or a Latin value (``blue色``) is left alone.
- size: repeated X is counted (``XXL`` → ``2xl``), a trailing ``码``/``號``/``号`` after a Latin size
  or a number is dropped (``XL码`` → ``xl``, ``38码`` → ``38``), and the common Chinese words for
  letter sizes are mapped (``小码`` → ``s``, ``中码`` → ``m``, ``大码`` → ``l``, ``加大码`` → ``xl``,
  ``加加大码`` → ``2xl``; ``均码``/``free size``/``one size`` → ``均码``).
- an attribute whose value is empty after this is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

COLOUR = "colour"
SIZE = "size"
SPEC = "spec"
STYLE = "style"

# Platform key -> canonical key. Keys are compared after NFKC + trim + casefold.
KEY_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(
        ("颜色", "颜色分类", "色", "色彩", "顏色", "顏色分類", "color", "colour", "colors", "colours"), COLOUR
    ),
    **dict.fromkeys(("尺码", "尺寸", "码数", "鞋码", "尺碼", "碼數", "鞋碼", "size", "sizes"), SIZE),
    **dict.fromkeys(("规格", "型号", "容量", "規格", "型號", "spec", "specs", "specification"), SPEC),
    **dict.fromkeys(("款式", "版型", "style"), STYLE),
}

# Labels for showing canonical keys to people.
ATTRIBUTE_LABELS: Mapping[str, Promise] = {
    COLOUR: _("颜色"),
    SIZE: _("尺码"),
    SPEC: _("规格"),
    STYLE: _("款式"),
}

_SIZE_WORDS: Mapping[str, str] = {
    "小码": "s",
    "中码": "m",
    "大码": "l",
    "加大码": "xl",
    "加加大码": "2xl",
    "均码": "均码",
    "free": "均码",
    "freesize": "均码",
    "free size": "均码",
    "onesize": "均码",
    "one size": "均码",
}
_REPEATED_X = re.compile(r"^(x{2,})([sl])$")
_SIZE_UNIT = re.compile(r"^([0-9a-z.]+)\s*[码號号]$")
_SPACES = re.compile(r"\s+")

# Memo caches: a catalogue has a few hundred distinct keys and a few thousand distinct values, so
# the caps are never reached in practice; they only bound memory against hostile input.
_CACHE_CAP = 100_000
_key_cache: dict[str, str] = {}
_value_cache: dict[tuple[str, str], str] = {}


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def _clean(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text.strip()).casefold()


def normalise_key(key: str) -> str:
    """The canonical key for a platform attribute key; an unknown key comes back trimmed and
    case-folded (``" 材质 "`` → ``"材质"``)."""
    cached = _key_cache.get(key)
    if cached is not None:
        return cached
    cleaned = _clean(key).rstrip(":：")
    result = KEY_ALIASES.get(cleaned, cleaned)
    if len(_key_cache) >= _CACHE_CAP:
        _key_cache.clear()
    _key_cache[key] = result
    return result


def _normalise_size(value: str) -> str:
    unit = _SIZE_UNIT.match(value)
    if unit:
        value = unit.group(1)
    value = _SIZE_WORDS.get(value, value)
    repeated = _REPEATED_X.match(value)
    if repeated:
        value = f"{len(repeated.group(1))}x{repeated.group(2)}"
    return value


def normalise_value(key: str, value: str) -> str:
    """The canonical form of `value` for the canonical attribute `key` (see the module rules)."""
    memo_key = (key, value)
    cached = _value_cache.get(memo_key)
    if cached is not None:
        return cached
    result = _clean(value)
    if key == COLOUR:
        while len(result) >= 2 and result[-1] == "色" and _is_cjk(result[-2]):
            result = result[:-1]
    elif key == SIZE:
        result = _normalise_size(result)
    if len(_value_cache) >= _CACHE_CAP:
        _value_cache.clear()
    _value_cache[memo_key] = result
    return result


def normalise_attributes(raw: Mapping[str, str]) -> dict[str, str]:
    """Platform attributes → ``{canonical key: canonical value}``.

    Empty values are dropped. When two platform keys map to the same canonical key (``颜色`` and
    ``颜色分类``), the first non-empty one wins.
    """
    result: dict[str, str] = {}
    for raw_key, raw_value in raw.items():
        if raw_value is None:
            continue
        key = normalise_key(raw_key)
        if not key or key in result:
            continue
        value = normalise_value(key, str(raw_value))
        if value:
            result[key] = value
    return result


def attributes_signature(attrs: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A hashable, order-independent form of already normalised attributes, for index keys."""
    return tuple(sorted(attrs.items()))
