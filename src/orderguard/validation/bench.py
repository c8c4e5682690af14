"""Throughput of the D2 checks on generated data (``make bench``; not a test, no assertions).

Prints checks per second, single core, for: plain CN mobiles (the fast path), mixed phone
formats, Taobao-style structured addresses, run-together free-text addresses, the address
evaluation set (short forms, left-out levels, old names, Traditional characters, vague ones), and
whole orders through `check_order`. Targets (DESIGN.md): 300k plain mobiles/s, 50k addresses/s.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

ROUNDS = 3


def _rate(
    label: str, items: Sequence[Any], func: Callable[[Any], object], target: float | None = None
) -> float:
    func(items[0])  # warm caches and lazy loading outside the timing
    best = float("inf")
    for _ in range(ROUNDS):
        # CPU time of this process: the rate of one core, whatever else the machine is running.
        started = time.process_time()
        for item in items:
            func(item)
        best = min(best, time.process_time() - started)
    rate = len(items) / best
    note = f"  (target {target:,.0f}/s: {'ok' if rate >= target else 'BELOW'})" if target else ""
    print(f"{label:<44} {rate:>12,.0f}/s  ({len(items):,} items, best of {ROUNDS}){note}")
    return rate


def _mobiles(rng: random.Random, count: int) -> list[str]:
    prefixes = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152"]
    prefixes += ["155", "156", "157", "158", "159", "166", "176", "177", "180", "181", "185", "186"]
    prefixes += ["187", "188", "189", "191", "198", "199"]
    return [rng.choice(prefixes) + f"{rng.randrange(10**8):08d}" for _ in range(count)]


def _mixed_phones(rng: random.Random, count: int) -> list[str]:
    plain = _mobiles(rng, count)
    forms: list[Callable[[str], str]] = [
        lambda n: n,
        lambda n: f"+86 {n[:3]} {n[3:7]} {n[7:]}",
        lambda n: n.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        lambda n: f"{n[:3]}****{n[7:]}",
        lambda n: f"{n}-{rng.randrange(10000):04d}",
        lambda n: f"0571-{n[3:11]}",
    ]
    return [rng.choice(forms)(n) for n in plain]


def _addresses(rng: random.Random, count: int) -> tuple[list[Any], list[Any]]:
    from orderguard.orders.schema import AddressIn
    from orderguard.validation.address import division_index

    index = division_index()
    triples: list[tuple[str, str, str]] = []
    for province in index.provinces:
        for city in index.children(province.code):
            if index.is_municipality(province):
                triples.append((province.name, province.name, city.name))
                continue
            for district in index.children(city.code):
                if district.level == 3:
                    triples.append((province.name, city.name, district.name))
    roads = ["文三路", "人民路", "解放大道", "中山北路", "建设街", "幸福巷", "胜利村"]
    structured, free = [], []
    for _ in range(count):
        p, c, d = rng.choice(triples)
        detail = f"{rng.choice(roads)}{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2999)}室"
        structured.append(AddressIn(province=p, city=c, district=d, detail=detail))
        text = f"{p}{c}{d}{detail}" if c != p else f"{p}{d}{detail}"
        free.append(AddressIn(raw=text))
    return structured, free


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderguard.config.settings")
    from orderguard.catalog.attributes import normalise_attributes
    from orderguard.orders.schema import AddressIn, LineIn, OrderIn
    from orderguard.validation.address import check_address, parse_address
    from orderguard.validation.checks import check_order
    from orderguard.validation.phone import check_phone
    from orderguard.validation.product import CatalogIndex, SkuRecord

    rng = random.Random(20250101)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    n = 200_000

    mobiles = _mobiles(rng, n)
    _rate("phone: plain 11-digit mobiles", mobiles, lambda s: check_phone(s, now=now), 300_000)
    _rate("phone: mixed formats", _mixed_phones(rng, n // 4), lambda s: check_phone(s, now=now))

    structured, free = _addresses(rng, n // 2)

    def address(a: Any) -> object:
        return check_address(a, parse_address(a))

    _rate("address: structured (Taobao/Douyin slots)", structured, address, 50_000)
    _rate("address: run-together free text", free, address, 50_000)

    from orderguard.validation.evaldata.generate import OUTPUT
    from orderguard.validation.evaluate import read_labelled

    with OUTPUT.open(encoding="utf-8") as stream:
        labelled = [AddressIn(raw=item.raw) for item in read_labelled(stream)]
    _rate("address: evaluation set (mixed forms)", labelled * 10, address, 50_000)
    from orderguard.validation.evaldata.realworld import OUTPUT as REALWORLD

    with REALWORLD.open(encoding="utf-8") as stream:
        shapes = [AddressIn(raw=item.raw) for item in read_labelled(stream)]
    _rate("address: real-world shapes (labels, typos, repeats)", shapes * 8, address, 50_000)

    records = []
    for i in range(2_000):
        for j, size in enumerate(("s", "m", "l")):
            attrs = normalise_attributes({"颜色": "红色", "尺码": size})
            records.append(
                SkuRecord(id=i * 3 + j, code=f"SKU-{i}-{size}", style_code=f"ST-{i}", attributes=attrs)
            )
    catalog = CatalogIndex.build(records)
    orders = [
        OrderIn(
            platform_order_id=str(k),
            recipient_name="张三",
            recipient_phone=mobiles[k],
            address=structured[k],
            buyer_note="" if k % 10 else "请尽快发货，谢谢",
            lines=[
                LineIn(sku_code=f"SKU-{k % 2000}-m", quantity=1, attributes={"颜色分类": "红色", "尺码": "M"})
            ],
        )
        for k in range(n // 4)
    ]
    _rate("check_order: whole order, one line", orders, lambda o: check_order(o, catalog=catalog, now=now))


if __name__ == "__main__":
    main()
