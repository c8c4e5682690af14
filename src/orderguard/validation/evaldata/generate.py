"""Generate the labelled address set ``addresses.jsonl`` beside this file (deterministic seed).

    .venv/bin/python -m orderguard.validation.evaldata.generate [--count 3000] [--seed 20261130]

Each address is built from a real (province, city, district[, town]) of the division data and a
made-up street address: common road names, numbers, buildings, units, rooms and estate names.
Then, at random, it is written the way buyers write: short forms (浙江杭州), a level left out
(the province, or the city where the district is unique in its province), spaces or commas
between levels, Traditional characters (OpenCC ``s2t``), full-width digits, a postcode at the end,
an old district name (江干区, labelled with its successor), a district without its suffix
(西湖 for 西湖区), a typo in the road name. About a fifth are vague: a road with no number, a
number with no road or place, a place name only, a landmark, a placeholder.

The labels say what a person would read: the official names of the levels the text names or
implies; a level the text leaves out and cannot be told from it is not labelled. The set is
evaluation data only: nothing in the matcher reads it.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from opencc import OpenCC

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "addresses.jsonl"

ROAD_STEMS = (
    "人民",
    "解放",
    "中山",
    "建设",
    "和平",
    "胜利",
    "新华",
    "文化",
    "青年",
    "长江",
    "黄河",
    "光明",
    "幸福",
    "团结",
    "朝阳",
    "复兴",
    "滨江",
    "工业",
    "学府",
    "迎宾",
    "振兴",
    "花园",
    "府前",
    "东风",
    "文三",
    "天目山",
    "延安",
    "淮海",
    "江南",
    "湖滨",
    "锦绣",
    "金沙",
    "望江",
    "龙华",
    "星海",
    "春晖",
)
ROAD_SUFFIXES = ("路", "路", "路", "街", "大道", "大街", "东路", "西路", "南路", "北路", "中路", "巷")
ESTATES = (
    "阳光",
    "锦绣",
    "翠苑",
    "金色家园",
    "万科城市",
    "绿城桂花",
    "碧桂园",
    "龙湖",
    "保利",
    "世纪",
    "和谐",
    "嘉禾",
    "银泰",
    "华府",
    "丽景",
    "恒大",
    "融创",
    "盛世",
    "东方",
    "明珠",
)
ESTATE_SUFFIXES = ("小区", "花园", "公寓", "家园", "大厦", "苑", "广场", "新村")
LANDMARKS = ("附近", "旁边", "对面", "门口", "后面")
PLACEHOLDERS = ("不详", "无", "测试", "待定")
# Homophone typos in road names (the road word and the number stay).
TYPOS = {"人民": "人明", "建设": "建没", "中山": "钟山", "解放": "解方", "幸福": "幸付", "和平": "和苹"}
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _divisions() -> dict[str, Any]:
    from orderguard.validation.address import division_index, load_renames

    index = division_index()
    triples: list[tuple[Any, Any, Any]] = []
    for province in index.provinces:
        if index.is_municipality(province):
            for district in index.children(province.code):
                if district.level == 3:
                    triples.append((province, province, district))
            continue
        for city in index.children(province.code):
            if city.level == 3:  # county-level city directly under the province: city and district
                triples.append((province, city, city))
                continue
            if city.level != 2:
                continue
            districts = [d for d in index.children(city.code) if d.level == 3]
            if not districts:
                triples.append((province, city, None))
            for district in districts:
                triples.append((province, city, district))
    return {"index": index, "triples": triples, "renames": load_renames()}


def _street(rng: random.Random) -> tuple[str, dict[str, str]]:
    road = rng.choice(ROAD_STEMS) + rng.choice(ROAD_SUFFIXES)
    number = f"{rng.randrange(1, 999)}号"
    parts = {"road": road, "roadno": number}
    text = road + number
    if rng.random() < 0.6:
        poi = rng.choice(ESTATES) + rng.choice(ESTATE_SUFFIXES)
        building = f"{rng.randrange(1, 40)}{rng.choice(('栋', '幢', '号楼', '座'))}"
        unit = f"{rng.randrange(1, 6)}单元" if rng.random() < 0.5 else ""
        room = f"{rng.randrange(1, 33)}{rng.randrange(1, 9):02d}{rng.choice(('室', '', '房'))}"
        text += poi + building + unit + room
        parts.update({"poi": poi, "houseno": building, "roomno": room})
    return text, parts


def _vague_street(rng: random.Random) -> tuple[str, dict[str, str]]:
    kind = rng.randrange(5)
    road = rng.choice(ROAD_STEMS) + rng.choice(ROAD_SUFFIXES)
    poi = rng.choice(ESTATES) + rng.choice(ESTATE_SUFFIXES)
    if kind == 0:  # a road, no number
        return road + rng.choice(("", *LANDMARKS)), {"road": road}
    if kind == 1:  # a building and a room, no road nor place
        return f"{rng.randrange(1, 30)}栋{rng.randrange(101, 2999)}", {}
    if kind == 2:  # a place name only
        return poi + rng.choice(("", *LANDMARKS)), {"poi": poi}
    if kind == 3:  # a landmark
        return rng.choice(("火车站", "汽车站", "人民医院", "万达广场", "菜市场")) + rng.choice(LANDMARKS), {}
    return rng.choice(PLACEHOLDERS), {}


def _short(name: str) -> str:
    from orderguard.validation.address import short_forms

    forms = short_forms(name)
    return min(forms, key=len) if forms else name


def generate(count: int, seed: int) -> list[dict[str, Any]]:
    data = _divisions()
    index, triples = data["index"], data["triples"]
    renames = [r for r in data["renames"] if index.by_code.get(r.new_code) is not None]
    t2s_back = OpenCC("s2t.json")
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        province, city, district = rng.choice(triples)
        municipality = index.is_municipality(province)
        vague = rng.random() < 0.2
        street, street_parts = _vague_street(rng) if vague else _street(rng)
        labels: dict[str, str] = {"prov": province.name, "city": city.name}
        if district is not None:
            labels["district"] = district.name
        p_text, c_text = province.name, "" if municipality else city.name
        d_text = "" if district is None or district is city else district.name

        roll = rng.random()
        if roll < 0.25:  # short forms: 浙江杭州
            p_text = _short(p_text)
            c_text = _short(c_text) if c_text else ""
        elif roll < 0.40 and not municipality:  # the province left out
            p_text = ""
        elif roll < 0.45 and d_text and not municipality:
            # the city left out, where the district is unique in its province
            if index.descendant_district(province, district.name) is not None:
                c_text = ""
        elif roll < 0.50 and d_text:  # the district without its suffix, where that is unambiguous
            short = _short(d_text)
            if short != d_text and index.child(city, short) == (district,):
                d_text = short
        elif roll < 0.53:  # an old district name, labelled with its successor
            rename = rng.choice([r for r in renames if index.by_code[r.new_code].level == 3])
            successor = index.by_code[rename.new_code]
            new_city = index.by_code[successor.parent_code]
            province = index.by_code[successor.province_code]
            p_text = province.name
            c_text = "" if index.is_municipality(province) else new_city.name
            d_text = rename.old_name
            labels = {"prov": province.name, "city": new_city.name, "district": successor.name}
            district = successor
        town = ""
        if not vague and district is not None and rng.random() < 0.2:
            towns = [t for t in index.children(district.code) if t.level == 4]
            if towns:
                town = rng.choice(towns).name
                labels["town"] = town
        separator = rng.choice(("", "", "", " ", ",", " "))
        levels = [part for part in (p_text, c_text, d_text) if part]
        text = separator.join(levels) + separator + town + street
        if not vague and rng.random() < 0.3:  # a typo in the road name
            for wrong, typed in TYPOS.items():
                if street.startswith(wrong):
                    text = text.replace(street, typed + street[len(wrong) :], 1)
                    break
        if rng.random() < 0.08:
            text = t2s_back.convert(text)
        if rng.random() < 0.08:
            text = text.translate(FULL_WIDTH)
        records.append({"raw": text, "parts": {**labels, **street_parts}, "vague": vague})
    return records


def main(argv: list[str] | None = None) -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderguard.config.settings")
    django.setup()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    records = generate(args.count, args.seed)
    with args.output.open("w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(records)} addresses written to {args.output}")


if __name__ == "__main__":
    main()
