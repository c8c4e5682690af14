"""Order line → SKU resolution (D2, T3 product information errors).

A line's ``sku_code`` is looked up, in this order, as a SKU code, a barcode, then a style code
(款号, shared by the variants of one product). Codes are compared after NFKC and trimming, and
case-insensitively when that still points at one SKU. Attributes on both sides are normalised by
`orderguard.catalog.attributes` and compared only on keys both sides have (an order's ``套餐``
does not contradict a SKU that has no such attribute).

- empty code → SKU_MISSING;
- a SKU code or a barcode of one SKU: ordered attributes contradicting the SKU's →
  SKU_ATTRIBUTES_MISMATCH (not resolved); inactive → SKU_INACTIVE (not resolved); else resolved;
- a style code (or a barcode shared by several SKUs): the variants whose attributes do not
  contradict the order are candidates; when several remain, active ones are preferred, then
  those whose every attribute the order names. One left → resolved (or SKU_INACTIVE); none →
  SKU_VARIANT_NOT_STOCKED with the stocked variants; several → SKU_VARIANT_AMBIGUOUS;
- values a platform sends without a name (Shopify's ``variant_title`` "Red / XL" arrives as
  ``option1``/``option2``, or ``variant``) are placed under the attribute of the SKU or style
  that has that value (``red`` is a stocked colour), else under size when they read as a size
  (``XL``, ``2XL``, ``38``), else left out of the comparison;
- a line resolved to a bundle (组合商品) whose components include an inactive SKU →
  BUNDLE_COMPONENT_INACTIVE naming them (not resolved): allocation explodes a bundle into its
  components, and a component that is no longer sold cannot be picked;
- nothing → SKU_UNKNOWN; when the merchant has codes close to it (edit distance at most a third
  of its length, at least 2, found through the codes' trigrams and a shared prefix), up to
  `MAX_SUGGESTIONS` of them, nearest first, go in ``data["suggestions"]`` with
  ``reason="similar"``. The suggestion index is built once per catalogue, on the first unknown
  code, and each unknown code's answer is remembered: a batch pays for it once.

All findings are blocking, type T3, field ``lines[<n>].sku_code`` (n from 1).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from orderguard.catalog.attributes import SIZE, attributes_signature, normalise_attributes, normalise_value
from orderguard.core.choices import ExceptionType
from orderguard.core.findings import Finding
from orderguard.orders.schema import LineIn

SKU_MISSING = "SKU_MISSING"
SKU_UNKNOWN = "SKU_UNKNOWN"
SKU_INACTIVE = "SKU_INACTIVE"
SKU_ATTRIBUTES_MISMATCH = "SKU_ATTRIBUTES_MISMATCH"
SKU_VARIANT_NOT_STOCKED = "SKU_VARIANT_NOT_STOCKED"
SKU_VARIANT_AMBIGUOUS = "SKU_VARIANT_AMBIGUOUS"
BUNDLE_COMPONENT_INACTIVE = "BUNDLE_COMPONENT_INACTIVE"

# How many variants a finding lists (a style may have hundreds; the finding stays small).
MAX_LISTED_VARIANTS = 20
# How many near codes an unknown SKU suggests, and how many trigram candidates are measured.
MAX_SUGGESTIONS = 3
_MAX_MEASURED = 50

Signature = tuple[tuple[str, str], ...]
# Keys of values sent without an attribute name (Shopify's options, a bare variant title).
_UNNAMED_KEY = re.compile(r"^(option\d+|variant)$")
_LOOKS_LIKE_SIZE = re.compile(r"^(\d?x?[sml]|\d{2,3}(\.5)?|均码)$")
_K = TypeVar("_K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class SkuRecord:
    """One SKU of a merchant as the checks need it; `attributes` are already normalised."""

    id: int
    code: str
    style_code: str = ""
    barcode: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    active: bool = True
    # a bundle's component SKU ids (empty for a plain SKU)
    components: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class LineResolution:
    sku_id: int | None
    findings: tuple[Finding, ...] = ()


def _key(code: str) -> str:
    if not code:
        return ""
    if not code.isascii():
        code = unicodedata.normalize("NFKC", code)
    return code.strip()


def _add(index: dict[_K, list[SkuRecord]], key: _K, record: SkuRecord) -> None:
    if key:
        bucket = index.setdefault(key, [])
        if all(r.id != record.id for r in bucket):
            bucket.append(record)


class CatalogIndex:
    """One merchant's SKUs, indexed by code, barcode, style code and (style, attributes)."""

    __slots__ = (
        "_by_barcode",
        "_by_code",
        "_by_id",
        "_by_style",
        "_by_variant",
        "_folded_barcode",
        "_folded_code",
        "_folded_style",
        "_suggest",
    )

    def __init__(self) -> None:
        self._by_code: dict[str, SkuRecord] = {}
        self._by_id: dict[int, SkuRecord] = {}
        self._folded_code: dict[str, list[SkuRecord]] = {}
        self._by_barcode: dict[str, list[SkuRecord]] = {}
        self._folded_barcode: dict[str, list[SkuRecord]] = {}
        self._by_style: dict[str, list[SkuRecord]] = {}
        self._folded_style: dict[str, list[SkuRecord]] = {}
        self._by_variant: dict[tuple[str, Signature], list[SkuRecord]] = {}
        self._suggest: _Suggester | None = None

    @classmethod
    def build(cls, records: Iterable[SkuRecord]) -> CatalogIndex:
        """Index `records` (one merchant's). A later record with the same code replaces an
        earlier one."""
        index = cls()
        for record in records:
            index._by_id[record.id] = record
            code = _key(record.code)
            if code:
                index._by_code[code] = record
            _add(index._by_barcode, _key(record.barcode), record)
            style = _key(record.style_code)
            _add(index._by_style, style, record)
            if style:
                _add(index._by_variant, (style, attributes_signature(record.attributes)), record)
        for code, record in index._by_code.items():
            _add(index._folded_code, code.casefold(), record)
        for source, folded in (
            (index._by_barcode, index._folded_barcode),
            (index._by_style, index._folded_style),
        ):
            for key, bucket in source.items():
                for record in bucket:
                    _add(folded, key.casefold(), record)
        return index

    def __len__(self) -> int:
        return len(self._by_code)

    def by_code(self, code: str) -> SkuRecord | None:
        key = _key(code)
        record = self._by_code.get(key)
        if record is None:
            folded = self._folded_code.get(key.casefold(), ())
            record = folded[0] if len(folded) == 1 else None
        return record

    def by_barcode(self, barcode: str) -> list[SkuRecord]:
        key = _key(barcode)
        return self._by_barcode.get(key) or self._folded_barcode.get(key.casefold(), [])

    def by_style(self, style_code: str) -> list[SkuRecord]:
        key = _key(style_code)
        return self._by_style.get(key) or self._folded_style.get(key.casefold(), [])

    def by_variant(self, style_code: str, attributes: Mapping[str, str]) -> list[SkuRecord]:
        """The SKUs of a style with exactly these (normalised) attributes."""
        return self._by_variant.get((_key(style_code), attributes_signature(attributes)), [])

    def inactive_components(self, record: SkuRecord) -> list[str]:
        """The codes of the bundle `record`'s components that are inactive, in component order."""
        return [
            component.code
            for component_id in record.components
            if (component := self._by_id.get(component_id)) is not None and not component.active
        ]

    def suggest(self, code: str) -> list[str]:
        """The active SKU codes nearest to `code` (see the module docstring), nearest first."""
        if self._suggest is None:
            self._suggest = _Suggester([r.code for r in self._by_code.values() if r.active])
        return self._suggest.near(_key(code))


def _trigrams(text: str) -> set[str]:
    padded = f"^{text}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of `a` and `b`, or `limit + 1` once it is sure to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for ca, cb in zip(a, b, strict=False):
        if ca != cb:
            break
        n += 1
    return n


class _Suggester:
    """Near codes of one catalogue: trigram postings and a sorted list for shared prefixes."""

    __slots__ = ("_codes", "_folded", "_grams", "_memo", "_sorted")

    def __init__(self, codes: list[str]) -> None:
        self._codes = codes
        self._folded = [c.casefold() for c in codes]
        self._grams: dict[str, list[int]] = {}
        for i, folded in enumerate(self._folded):
            for gram in _trigrams(folded):
                self._grams.setdefault(gram, []).append(i)
        self._sorted = sorted((f, i) for i, f in enumerate(self._folded))
        self._memo: dict[str, list[str]] = {}

    def near(self, code: str) -> list[str]:
        folded = code.casefold()
        if folded in self._memo:
            return self._memo[folded]
        limit = max(2, len(folded) // 3)
        shared: dict[int, int] = {}
        for gram in _trigrams(folded):
            for i in self._grams.get(gram, ()):
                shared[i] = shared.get(i, 0) + 1
        candidates = sorted(shared, key=lambda i: -shared[i])[:_MAX_MEASURED]
        # codes sharing a long prefix (the same style, another size) even with few trigrams
        at = bisect.bisect_left(self._sorted, (folded[: max(3, len(folded) - limit)], -1))
        for key, i in self._sorted[at : at + MAX_SUGGESTIONS * 2]:
            if _common_prefix(key, folded) >= 3:
                candidates.append(i)
        ranked: list[tuple[int, int, str]] = []
        for i in set(candidates):
            d = _distance(folded, self._folded[i], limit)
            if 0 < d <= limit:
                ranked.append((d, -_common_prefix(folded, self._folded[i]), self._codes[i]))
        result = [c for _d, _p, c in sorted(ranked)[:MAX_SUGGESTIONS]]
        if len(self._memo) < 10_000:
            self._memo[folded] = result
        return result


def _finding(code: str, line_no: int, **data: object) -> Finding:
    return Finding(
        code=code,
        type=ExceptionType.PRODUCT_ERROR,
        field=f"lines[{line_no}].sku_code",
        data={"line": line_no, **data},
    )


def _contradicts(ordered: Mapping[str, str], stocked: Mapping[str, str]) -> bool:
    return any(key in stocked and stocked[key] != value for key, value in ordered.items())


def _resolved(record: SkuRecord, index: CatalogIndex, line_no: int) -> LineResolution:
    """An active SKU the line resolves to, unless it is a bundle with an inactive component."""
    inactive = index.inactive_components(record) if record.components else []
    if inactive:
        return LineResolution(
            None, (_finding(BUNDLE_COMPONENT_INACTIVE, line_no, sku=record.code, components=inactive),)
        )
    return LineResolution(record.id)


def _single(record: SkuRecord, ordered: dict[str, str], line_no: int, index: CatalogIndex) -> LineResolution:
    if _contradicts(ordered, record.attributes):
        shared = [key for key in ordered if key in record.attributes]
        return LineResolution(
            None,
            (
                _finding(
                    SKU_ATTRIBUTES_MISMATCH,
                    line_no,
                    sku=record.code,
                    ordered={key: ordered[key] for key in shared},
                    stocked={key: record.attributes[key] for key in shared},
                ),
            ),
        )
    if not record.active:
        return LineResolution(None, (_finding(SKU_INACTIVE, line_no, sku=record.code),))
    return _resolved(record, index, line_no)


def _pick_variant(
    variants: list[SkuRecord],
    ordered: dict[str, str],
    line_no: int,
    code: str,
    exact: list[SkuRecord],
    index: CatalogIndex,
) -> LineResolution:
    if len(exact) == 1 and exact[0].active:
        return _resolved(exact[0], index, line_no)
    candidates = [v for v in variants if not _contradicts(ordered, v.attributes)]
    if len(candidates) > 1:
        active = [v for v in candidates if v.active]
        candidates = active or candidates
    if len(candidates) > 1:
        named = [v for v in candidates if all(key in ordered for key in v.attributes)]
        candidates = named or candidates
    if len(candidates) == 1:
        chosen = candidates[0]
        if not chosen.active:
            return LineResolution(None, (_finding(SKU_INACTIVE, line_no, sku=chosen.code),))
        return _resolved(chosen, index, line_no)
    if not candidates:
        stocked = [dict(v.attributes) for v in variants if v.active] or [dict(v.attributes) for v in variants]
        keys = list(ordered)
        return LineResolution(
            None,
            (
                _finding(
                    SKU_VARIANT_NOT_STOCKED,
                    line_no,
                    style=code,
                    ordered=dict(ordered),
                    stocked=stocked[:MAX_LISTED_VARIANTS],
                    stocked_values={
                        key: sorted({s[key] for s in stocked if key in s})
                        for key in keys
                        if any(key in s for s in stocked)
                    },
                ),
            ),
        )
    return LineResolution(
        None,
        (
            _finding(
                SKU_VARIANT_AMBIGUOUS,
                line_no,
                style=code,
                ordered=dict(ordered),
                candidates=[c.code for c in candidates[:MAX_LISTED_VARIANTS]],
            ),
        ),
    )


def _place_unnamed(ordered: dict[str, str], records: list[SkuRecord]) -> dict[str, str]:
    """`ordered` with its unnamed values (``option1``, ``variant``) put under the attribute
    they are a value of (see the module docstring)."""
    unnamed = [key for key in ordered if _UNNAMED_KEY.match(key)]
    if not unnamed:
        return ordered
    placed = {key: value for key, value in ordered.items() if key not in unnamed}
    stocked_keys = sorted({key for r in records for key in r.attributes})
    for key in unnamed:
        value = ordered[key]
        target = next(
            (
                k
                for k in stocked_keys
                if k not in placed and any(r.attributes.get(k) == normalise_value(k, value) for r in records)
            ),
            None,
        )
        if target is None and SIZE not in placed and _LOOKS_LIKE_SIZE.match(normalise_value(SIZE, value)):
            target = SIZE
        if target is not None:
            placed[target] = normalise_value(target, value)
    return placed


def resolve_line(line: LineIn, *, index: CatalogIndex, line_no: int) -> LineResolution:
    """Resolve one order line to a SKU id, or say why not (see the module docstring)."""
    code = _key(line.sku_code)
    if not code:
        return LineResolution(None, (_finding(SKU_MISSING, line_no),))
    ordered = normalise_attributes(line.attributes) if line.attributes else {}
    record = index.by_code(code)
    if record is not None:
        return _single(record, _place_unnamed(ordered, [record]), line_no, index)
    by_barcode = index.by_barcode(code)
    if len(by_barcode) == 1:
        return _single(by_barcode[0], _place_unnamed(ordered, by_barcode), line_no, index)
    if by_barcode:
        return _pick_variant(by_barcode, _place_unnamed(ordered, by_barcode), line_no, code, [], index)
    variants = index.by_style(code)
    if variants:
        ordered = _place_unnamed(ordered, variants)
        exact = index.by_variant(code, ordered) if ordered else []
        return _pick_variant(variants, ordered, line_no, code, exact, index)
    suggestions = index.suggest(code)
    if suggestions:
        return LineResolution(
            None, (_finding(SKU_UNKNOWN, line_no, sku=code, reason="similar", suggestions=suggestions),)
        )
    return LineResolution(None, (_finding(SKU_UNKNOWN, line_no, sku=code),))
