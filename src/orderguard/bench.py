"""`make bench`, five parts, each on SQLite and on PostgreSQL:

- imports: 100k generated orders through the real path, beside the raw insert rate of the same
  rows measured in the same run (`executemany` on SQLite, `COPY` on PostgreSQL);
- reads: 1M generated cases (about 30% open) with their orders, written with the import path's
  bulk writer, then the server time (median and p95 of many requests through Django's test
  client: middleware, session, query, template) of the dashboard, the work queue (first page,
  filters, a deep page) and the API case list, against a 300 ms target;
- stock re-check: N orders waiting for one SKU (each with its open T1 case), then one receipt
  that covers them all: the time of that receipt (`stock_moves_apply`), which allocates every
  waiting order in payment order and closes every case;
- outbox: 10k messages queued, then drained by the delivery job's own loop in one process to a
  local HTTP receiver (another process): messages/s, against a 1,000/s target;
- report: the monthly analysis (S3) over 5M cases, against a 500 ms target. The report reads
  only the daily rollups, so the rollups that 5M cases over two months leave are written
  directly (`generate_rollups`) instead of the cases.

Each database and part runs in its own process on a fresh database (Django's settings are per
process); this module orchestrates and prints the tables.

    python -m orderguard.bench [--orders 100000] [--cases 1000000] [--reps 30]
                               [--outbox 10000] [--recheck 100000] [--report-cases 5000000]
                               [--only sqlite|postgres]

`--orders 0`, `--cases 0` or `--recheck 0` skips that part; a smaller `--cases` is for trying things out
(the full run takes several minutes per database on two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

PG_ADMIN_URL = os.environ.get("OG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# another name lets two checkouts on one server run the benchmark side by side
PG_DB = os.environ.get("OG_BENCH_DB", "orderguard_bench")


def _child(orders: int) -> dict[str, Any]:
    """Runs inside a process whose settings point at an empty database."""
    import random
    from datetime import datetime, timedelta

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", interactive=False, verbosity=0)
    from orderguard.intake.adapters.base import SourceFile
    from orderguard.intake.demo import MASTERDATA, SHANGHAI, catalog_csv, demo_catalog, orders_csv, stock_csv
    from orderguard.intake.masterdata import catalog_import, masterdata_import, stock_import
    from orderguard.intake.services import orders_import
    from orderguard.orders.models import Channel
    from orderguard.tenancy.models import Merchant

    masterdata_import(file=SourceFile("md.json", json.dumps(MASTERDATA, ensure_ascii=False).encode()))
    skus = demo_catalog()["yoyo"]
    merchant = Merchant.objects.get(code="yoyo")
    catalog_import(file=SourceFile("catalog.csv", catalog_csv(skus)), merchant=merchant)
    rng = random.Random(7)
    stock_import(
        file=SourceFile("stock.csv", stock_csv(skus, rng=rng, short={"YY-TS-RD-M"}, scale=1000)),
        merchant=merchant,
    )
    channel = Channel.objects.get(code="yoyo-tmall")
    day = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    data = orders_csv(skus=skus, n=orders, rng=random.Random(11), day=day, prefix="9")
    files = [SourceFile("bench.csv", data)]

    # baseline: the same rows (one per order line) inserted raw, in one transaction
    import csv
    import io

    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))[1:]
    width = len(rows[0])
    cols = ", ".join(f"c{i} text" for i in range(width))
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_raw")
        cur.execute(f"CREATE TABLE bench_raw ({cols})")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.copy("COPY bench_raw FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * width)
            cur.executemany(f"INSERT INTO bench_raw VALUES ({marks})", rows)
    raw_seconds = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_raw")

    started = time.perf_counter()
    batch = orders_import(files=files, channel=channel)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = orders_import(files=files, channel=channel)
    reimport_seconds = time.perf_counter() - started
    return {
        "database": connection.vendor,
        "orders": batch.created,
        "rows": len(rows),
        "cases_opened": batch.cases_opened,
        "row_errors": batch.rows_failed,
        "import_seconds": round(seconds, 2),
        "orders_per_s": round(batch.created / seconds),
        "raw_rows_per_s": round(len(rows) / raw_seconds),
        "raw_orders_per_s": round(orders / raw_seconds),
        "ratio_to_raw": round((batch.created / seconds) / (orders / raw_seconds), 3),
        "reimport_unchanged": again.unchanged,
        "reimport_orders_per_s": round(again.unchanged / reimport_seconds),
    }


# --- reads at scale: the dashboard, the work queue and the API case list over N cases -------

SCAN_TARGET_MS = 100.0  # S2: a deadline scan tick over 1M open cases (the target)
READ_TARGET_MS = 300.0
MERCHANTS = (("bm-a", 0.34), ("bm-b", 0.24), ("bm-c", 0.16), ("bm-d", 0.12), ("bm-e", 0.09), ("bm-f", 0.05))
PLATFORMS = ("taobao", "jd", "pinduoduo", "douyin")
TYPES = (("T1", 0.30), ("T2", 0.30), ("T3", 0.15), ("T4", 0.10), ("T5", 0.15))
# ~30% of the cases open (in one of the three open statuses), the rest closed
STATUSES = (("open", 0.18), ("in_progress", 0.08), ("waiting", 0.04), ("resolved", 0.60), ("cancelled", 0.10))
STAFF_USERS = 10
BENCH_CHANNEL = "bm-a-jd"  # one of the largest merchant's channels
CHUNK = 50_000


def generate_cases(cases: int, *, analyze: bool = True) -> int:
    """`cases` cases on about 0.87 x `cases` orders (one order in seven has a second case of
    another type), written with the import path's bulk writer (COPY / executemany) in chunks
    of 50,000; six merchants of unequal size, two to four channels each, ten staff users and
    a merchant user. `analyze` refreshes the planner's statistics afterwards (outside a
    transaction only). Returns the number of orders. Also used by tests, on a few hundred."""
    import random
    from datetime import timedelta
    from itertools import accumulate

    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone

    from orderguard.cases.models import ExceptionCase
    from orderguard.catalog.models import Warehouse
    from orderguard.core import bulk
    from orderguard.orders.models import Channel, Order
    from orderguard.tenancy.models import Membership, Merchant

    rng = random.Random(42)
    now = timezone.now()
    warehouse = Warehouse.objects.create(code="bench-wh", name="Bench warehouse")
    merchants = [Merchant.objects.create(code=code, name=code.upper()) for code, _w in MERCHANTS]
    channels: list[list[Channel]] = []
    for m in merchants:
        channels.append(
            [
                Channel.objects.create(
                    merchant=m, platform=p, code=f"{m.code}-{p}", name=f"{m.code} {p}", warehouse=warehouse
                )
                for p in PLATFORMS[: 2 + m.pk % 3]
            ]
        )
    staff = []
    for i in range(STAFF_USERS):
        user = User.objects.create_user(f"bench-staff-{i}", password=None)
        Membership.objects.create(user=user, role="operator")
        staff.append(user)
    manager = User.objects.create_user("bench-manager", password=None)
    Membership.objects.create(user=manager, role="manager")
    merchant_user = User.objects.create_user("bench-merchant", password=None)
    Membership.objects.create(user=merchant_user, role="merchant", merchant=merchants[0])

    m_cum = list(accumulate(w for _c, w in MERCHANTS))
    t_cum = list(accumulate(w for _c, w in TYPES))
    s_cum = list(accumulate(w for _c, w in STATUSES))
    open_statuses = {"open", "in_progress", "waiting"}
    made = 0
    order_no = 0
    while made < cases:
        size = min(CHUNK, cases - made)
        with transaction.atomic():
            plan: list[int] = []  # cases per order in this chunk
            planned = 0
            while planned < size:
                plan.append(1 if rng.random() < 6 / 7 or planned + 2 > size else 2)
                planned += plan[-1]
            order_ids = bulk.reserve_ids(Order, len(plan))
            case_ids = bulk.reserve_ids(ExceptionCase, size)
            orders: list[Order] = []
            rows: list[ExceptionCase] = []
            for oid, count in zip(order_ids, plan, strict=True):
                mi = rng.choices(range(len(merchants)), cum_weights=m_cum)[0]
                merchant = merchants[mi]
                channel = rng.choice(channels[mi])
                order_no += 1
                placed = now - timedelta(minutes=rng.randint(10, 90 * 24 * 60))
                orders.append(
                    bulk.new(
                        Order,
                        pk=oid,
                        merchant_id=merchant.pk,
                        channel_id=channel.pk,
                        platform_order_id=f"B{order_no:09d}",
                        platform_status="WAIT_SELLER_SEND_GOODS",
                        status="on_hold",
                        placed_at=placed,
                        paid_at=placed,
                        recipient_name="张三",
                        recipient_phone="13800000000",
                        province="上海市",
                        city="上海市",
                        district="浦东新区",
                        address_detail="世纪大道 1 号",
                    )
                )
                types = (
                    rng.sample([c for c, _w in TYPES], count)
                    if count > 1
                    else [rng.choices([c for c, _w in TYPES], cum_weights=t_cum)[0]]
                )
                for case_type in types:
                    status = rng.choices([c for c, _w in STATUSES], cum_weights=s_cum)[0]
                    if status in open_statuses:
                        # from three days overdue to four days ahead; a few without a deadline
                        due = (
                            None
                            if rng.random() < 0.02
                            else now + timedelta(minutes=rng.randint(-3 * 1440, 4 * 1440))
                        )
                        opened = (due or now) - timedelta(hours=rng.randint(4, 48))
                        closed = None
                        # the deadline scan's state as a running service leaves it: every
                        # alert whose time has passed was sent
                        level, next_at = _sla_state(now, due)
                        assignee = rng.choice(staff).pk if rng.random() < 0.4 else None
                    else:
                        opened = placed + timedelta(minutes=rng.randint(1, 120))
                        due = opened + timedelta(hours=24)
                        closed = opened + timedelta(hours=rng.randint(1, 30))
                        assignee = rng.choice(staff).pk if rng.random() < 0.9 else None
                        level, next_at = 4, None
                    rows.append(
                        bulk.new(
                            ExceptionCase,
                            pk=case_ids[len(rows)],
                            merchant_id=merchant.pk,
                            order_id=oid,
                            type=case_type,
                            status=status,
                            source="D2",
                            step="处理",
                            due_at=due,
                            warn_at=None if due is None else due - timedelta(hours=2),
                            sla_level=level,
                            sla_next_at=next_at,
                            assignee_id=assignee,
                            opened_at=opened,
                            closed_at=closed,
                            outcome=""
                            if closed is None
                            else ("succeeded" if status == "resolved" else "cancelled"),
                        )
                    )
            bulk.insert(orders)
            bulk.insert(rows)
        made += size
    if not analyze:
        return order_no
    if connection.vendor == "postgresql":
        # the planner's statistics and the visibility map, as autovacuum leaves them in service
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return order_no


def _sla_state(now: Any, due: Any) -> tuple[int, Any]:
    """The alert level and next alert of an open case due at `due` (warned 2 h before, one
    escalation an hour), as the scan leaves it at `now`."""
    from datetime import timedelta

    if due is None:
        return 0, None
    steps = [due - timedelta(hours=2), due, due + timedelta(hours=1), due + timedelta(hours=2)]
    level = sum(1 for at in steps if at <= now)
    return level, steps[level] if level < len(steps) else None


def _time_scan(reps: int) -> dict[str, Any]:
    """The deadline scan (S2), one tick a minute: each rep moves the clock one minute on, so each
    tick finds the cases whose next alert fell in that minute (on 1M cases, a few dozen)."""
    import statistics
    from datetime import timedelta

    from django.utils import timezone

    from orderguard.cases.models import OPEN_STATUS_VALUES, ExceptionCase
    from orderguard.sla.services import PolicyBook, deadlines_scan

    base = timezone.now()
    book = PolicyBook()
    times, floors, handled = [], [], []
    for i in range(1, reps + 1):
        now = base + timedelta(minutes=i)
        # the floor, same tick: only the read of the cases due, as the scan's first query reads them
        started = time.perf_counter()
        list(
            ExceptionCase.objects.filter(
                status__in_literals=OPEN_STATUS_VALUES, sla_next_at__isnull=False, sla_next_at__lte=now
            )
            .order_by("sla_next_at", "pk")
            .values_list("pk", flat=True)[:500]
        )
        floors.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        result = deadlines_scan(now=now, policies=book)
        times.append((time.perf_counter() - started) * 1000)
        handled.append(result.cases)
    times.sort()
    return {
        "what": "deadline scan tick (1 min)",
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "floor_median_ms": round(statistics.median(floors), 1),
        "cases_per_tick": round(statistics.mean(handled), 1),
    }


def _time_get(client: Any, url: str, reps: int, **headers: Any) -> tuple[float, float, int]:
    """Median and p95 of `reps` GETs of `url` in ms (after two warm-up requests)."""
    import statistics

    for _i in range(2):
        response = client.get(url, **headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
    times = []
    for _i in range(reps):
        started = time.perf_counter()
        client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    return round(statistics.median(times), 1), round(p95, 1), len(response.content)


def _reads_child(cases: int, reps: int) -> dict[str, Any]:
    """Runs inside a process whose settings point at an empty database: generate, then time."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    started = time.perf_counter()
    orders = generate_cases(cases)
    generate_seconds = time.perf_counter() - started
    return {**_measure(reps), "orders": orders, "generate_seconds": round(generate_seconds, 1)}


def _measure(reps: int) -> dict[str, Any]:
    """Time the pages and the API over the generated data (as `bench-staff-0`, who has some
    cases assigned, and `bench-merchant`, a user of the largest merchant)."""
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from orderguard.cases.choices import OPEN_STATUSES
    from orderguard.cases.models import ExceptionCase
    from orderguard.tenancy.access import token_create

    staff = User.objects.get(username="bench-staff-0")
    merchant_user = User.objects.get(username="bench-merchant")
    _token, raw_token = token_create(user_id=staff.pk, name="bench")
    cases = ExceptionCase.objects.count()
    # the deep page: the queue after its 100,000th case (less in a smaller run)
    depth = min(100_000, cases // 6)
    cursor = (
        ExceptionCase.objects.filter(status__in=OPEN_STATUSES, due_at__isnull=False)
        .order_by("due_at", "pk")
        .values_list("due_at", "pk")[depth : depth + 1]
        .first()
    )
    # a run too small to have a dated open case measures the first page there
    after = f"{int(cursor[0].timestamp() * 1_000_000)}-{cursor[1]}" if cursor and cursor[0] else ""
    # the same depth in the closed cases, latest closed first (the analysis's links, S3)
    closed_cursor = (
        ExceptionCase.objects.filter(closed_at__isnull=False)
        .order_by("-closed_at", "-pk")
        .values_list("closed_at", "pk")[depth : depth + 1]
        .first()
    )
    closed_after = (
        f"&after=c{int(closed_cursor[0].timestamp() * 1_000_000)}-{closed_cursor[1]}"
        if closed_cursor and closed_cursor[0]
        else ""
    )
    # a month's report links: the cases opened in it (any status), those closed in it
    today = timezone.localdate()
    month = f"{(today - timedelta(days=30)).isoformat()}&{{}}_to={today.isoformat()}"
    opened_in_month = "opened_from=" + month.format("opened")
    closed_in_month = "closed_from=" + month.format("closed")
    as_staff = Client()
    as_staff.force_login(staff)
    as_merchant = Client()
    as_merchant.force_login(merchant_user)
    as_manager = Client()
    as_manager.force_login(User.objects.get(username="bench-manager"))
    api = Client()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"}
    checks = [
        ("dashboard, staff", as_staff, "/", {}),
        ("dashboard, merchant user", as_merchant, "/", {}),
        ("dashboard, manager (+load)", as_manager, "/", {}),
        ("queue, first page", as_staff, "/queue/", {}),
        ("queue, type T3", as_staff, "/queue/?type=T3", {}),
        ("queue, one channel", as_staff, f"/queue/?channel={BENCH_CHANNEL}", {}),
        ("queue, assignee=me", as_staff, "/queue/?assignee=me", {}),
        (f"queue, page after {depth:,}", as_staff, f"/queue/?after={after}", {}),
        ("queue, merchant user", as_merchant, "/queue/", {}),
        ("queue, closed, first page", as_staff, "/queue/?status=closed", {}),
        (f"queue, closed, page after {depth:,}", as_staff, f"/queue/?status=closed{closed_after}", {}),
        ("queue, closed, merchant user", as_merchant, "/queue/?status=closed", {}),
        ("queue, all statuses", as_staff, "/queue/?status=all", {}),
        ("queue, T3 opened in 30 days", as_staff, f"/queue/?status=all&type=T3&{opened_in_month}", {}),
        ("queue, T3 closed in 30 days", as_staff, f"/queue/?status=closed&type=T3&{closed_in_month}", {}),
        ("queue, failed, 30 days", as_staff, f"/queue/?outcome=failed&{closed_in_month}", {}),
        (
            "queue, failed, 30 days, merchant user",
            as_merchant,
            f"/queue/?outcome=failed&{closed_in_month}",
            {},
        ),
        ("API GET /api/v1/cases", api, "/api/v1/cases", bearer),
        ("API GET /api/v1/cases?type=T3", api, "/api/v1/cases?type=T3", bearer),
    ]
    figures = []
    load_before = os.getloadavg()[0]
    for label, client, url, headers in checks:
        median, p95, size = _time_get(client, url, reps, **headers)
        figures.append({"what": label, "median_ms": median, "p95_ms": p95, "bytes": size})
    # last: the scan writes (levels, events)
    scan = _time_scan(reps)
    return {
        "scan": scan,
        "database": connection.vendor,
        "cases": cases,
        "open": ExceptionCase.objects.filter(status__in=OPEN_STATUSES).count(),
        "figures": figures,
        # the machine's 1-minute load before and after: the figures are wall-clock times
        "load": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def _print_reads(results: list[dict[str, Any]]) -> None:
    for r in results:
        print(
            f"\nreads on {r['database']}: {r['cases']:,} cases ({r['open']:,} open) on {r['orders']:,} orders,"
            f" generated in {r['generate_seconds']} s; server time per request, target {READ_TARGET_MS:.0f} ms"
            f" (load average {r['load'][0]} before, {r['load'][1]} after)"
        )
        print(f"{'request':<40}{'median ms':>10}{'p95 ms':>10}{'target':>8}  ")
        for f in r["figures"]:
            ok = "ok" if f["p95_ms"] <= READ_TARGET_MS else "SLOW"
            print(f"{f['what']:<40}{f['median_ms']:>10}{f['p95_ms']:>10}{READ_TARGET_MS:>8.0f}  {ok}")
        scan = r.get("scan")
        if scan:
            ok = "ok" if scan["p95_ms"] <= SCAN_TARGET_MS else "SLOW"
            print(
                f"{scan['what']:<40}{scan['median_ms']:>10}{scan['p95_ms']:>10}{SCAN_TARGET_MS:>8.0f}  {ok}"
                f"  ({scan['cases_per_tick']} cases alerted per tick; floor, the due cases' read"
                f" alone: {scan['floor_median_ms']} ms median)"
            )


OUTBOX_TARGET_PER_S = 1000


def _outbox_child(messages: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    from orderguard.notifications.soak import drain_bench, drain_bench_robots

    return {
        "database": connection.vendor,
        **drain_bench(messages=messages),
        "robots": drain_bench_robots(messages=messages),
    }


def _print_outbox(results: list[dict[str, Any]]) -> None:
    print("outbox drain messages/s to a local HTTP receiver (one process, its send threads)")
    print(f"{'database':<11}{'messages':>10}{'seconds':>9}{'msg/s':>8}{'target':>8}{'threads':>9}")
    for r in results:
        ok = "ok" if r["per_s"] >= OUTBOX_TARGET_PER_S and r["received"] >= r["messages"] else "SLOW"
        print(
            f"{r['database']:<11}{r['messages']:>10}{r['seconds']:>9}{r['per_s']:>8}"
            f"{OUTBOX_TARGET_PER_S:>8}{r['threads']:>9}  {ok}"
        )
        for robot in r.get("robots", []):
            ok = (
                "ok"
                if robot["per_s"] >= OUTBOX_TARGET_PER_S and robot["received"] >= robot["messages"]
                else "SLOW"
            )
            print(
                f"  to the {robot['kind']} robot server (signatures checked): {robot['per_s']} msg/s,"
                f" {robot['received']:,} received of {robot['messages']:,}, {robot['failed']} failed  {ok}"
            )


# --- stock re-check: one receipt serving N waiting orders -------------------------------------


def _recheck_child(waiting: int) -> dict[str, Any]:
    """N orders on hold for one SKU with their open T1 cases (bulk-written), then one receipt
    of N units through `stock_moves_apply`, timed."""
    from datetime import UTC, datetime, timedelta

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", interactive=False, verbosity=0)
    from orderguard.cases.models import ExceptionCase
    from orderguard.catalog.models import Sku, Warehouse
    from orderguard.core import bulk
    from orderguard.inventory.models import StockLevel
    from orderguard.inventory.services import MoveIn, stock_moves_apply
    from orderguard.orders.models import Channel, Order, OrderLine
    from orderguard.tenancy.models import Merchant

    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    merchant = Merchant.objects.create(code="rc", name="rc")
    wh = Warehouse.objects.create(code="rc-wh", name="rc")
    channel = Channel.objects.create(
        merchant=merchant, platform="taobao", code="rc-tb", name="rc", warehouse=wh
    )
    sku = Sku.objects.create(merchant=merchant, code="RC-1", name="rc")
    StockLevel.objects.create(merchant=merchant, warehouse=wh, sku=sku, on_hand=0)
    short = {
        "code": "STOCK_SHORT",
        "type": "T1",
        "field": "lines[1]",
        "severity": "blocking",
        "source": "D1",
        "data": {"sku": "RC-1", "wanted": 1, "free": 0},
    }
    started = time.perf_counter()
    for start in range(0, waiting, CHUNK):
        n = min(CHUNK, waiting - start)
        with transaction.atomic():
            orders = [
                bulk.new(
                    Order,
                    pk=pk,
                    merchant_id=merchant.pk,
                    channel_id=channel.pk,
                    platform_order_id=f"rc{start + i}",
                    status="on_hold",
                    paid_at=t0 + timedelta(seconds=start + i),
                    findings=[short],
                )
                for i, pk in enumerate(bulk.reserve_ids(Order, n))
            ]
            bulk.insert(orders)
            bulk.insert(
                [
                    bulk.new(OrderLine, order_id=o.pk, line_no=1, sku_code="RC-1", sku_id=sku.pk, quantity=1)
                    for o in orders
                ]
            )
            bulk.insert(
                [
                    bulk.new(
                        ExceptionCase,
                        merchant_id=merchant.pk,
                        order_id=o.pk,
                        type="T1",
                        status="open",
                        source="D1",
                        findings=[short],
                        step="notify_merchant",
                        due_at=t0 + timedelta(hours=1),
                        opened_at=t0,
                    )
                    for o in orders
                ]
            )
    generate_seconds = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    floor_seconds = _recheck_floor(merchant.pk, wh.pk, sku.pk, now=t0 + timedelta(days=1))
    started = time.perf_counter()
    result = stock_moves_apply(
        merchant_id=merchant.pk,
        moves=[MoveIn("receipt", wh.code, sku.code, waiting, reason="bench")],
        now=t0 + timedelta(days=1),
        actor_label="system:bench",
    )
    seconds = time.perf_counter() - started
    assert result.recheck is not None
    level = StockLevel.objects.get()
    return {
        "database": connection.vendor,
        "waiting": waiting,
        "generate_seconds": round(generate_seconds, 1),
        "recheck_seconds": round(seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "orders_per_s": round(waiting / seconds),
        "served": len(result.recheck.served),
        "cases_closed": len(result.recheck.cases_closed),
        "allocated": level.allocated,
        "open_cases_left": ExceptionCase.objects.filter(status="open").count(),
    }


def _recheck_floor(merchant_id: int, warehouse_id: int, sku_id: int, *, now: Any) -> float:
    """The baseline of the re-check, timed in the same run and rolled back: the rows it must
    write, written without deciding anything (every waiting order served whole): its lines
    allocated, its status, its case closed, one allocation movement and one event per order,
    by one set-based UPDATE per table and the bulk row writer. Seconds."""
    from django.db import transaction
    from django.db.models import F

    from orderguard.cases.models import CaseEvent, ExceptionCase
    from orderguard.core import bulk
    from orderguard.inventory.models import StockLevel, StockMovement
    from orderguard.orders.models import Order, OrderLine

    with transaction.atomic():
        started = time.perf_counter()
        waiting = Order.objects.filter(merchant_id=merchant_id, status="on_hold")
        ids = list(waiting.order_by("paid_at", "pk").values_list("pk", flat=True))
        OrderLine.objects.filter(order_id__in_ids=ids).update(allocated_quantity=F("quantity"))
        Order.objects.filter(pk__in_ids=ids).update(status="ready", findings=[])
        StockLevel.objects.filter(warehouse_id=warehouse_id, sku_id=sku_id).update(
            on_hand=len(ids), allocated=len(ids)
        )
        cases = list(
            ExceptionCase.objects.filter(order_id__in_ids=ids, status="open").values_list("pk", flat=True)
        )
        ExceptionCase.objects.filter(pk__in_ids=cases).update(
            status="resolved", outcome="succeeded", closed_at=now, resolution="stock_arrived"
        )
        bulk.insert_rows(
            StockMovement,
            common={"type": "allocation", "reason": "order_ready", "occurred_at": now, "actor_label": "b"},
            names=("merchant_id", "warehouse_id", "sku_id", "quantity", "order_id", "data"),
            rows=((merchant_id, warehouse_id, sku_id, 1, pk, {}) for pk in ids),
        )
        bulk.insert_rows(
            CaseEvent,
            common={"type": "resolved", "occurred_at": now, "actor_label": "b"},
            names=("case_id", "data"),
            rows=((pk, {"outcome": "succeeded", "reason": "stock_arrived"}) for pk in cases),
        )
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


# --- the monthly report over N cases (S3) -----------------------------------------------------


def generate_rollups(cases: int, *, days: int = 61, skus: int = 60) -> int:
    """The daily rollups (`analysis.DailyStat`) that `cases` cases opened and closed over the
    last `days` days leave behind, written directly: the report reads only the rollups, so the
    cases themselves are not generated (at 5M a day's rows hold about 80,000 cases each). The
    merchants, channels and staff users of `generate_cases`; 31 provinces, `skus` short SKUs
    per merchant and day; handling times spread log-normally. Returns the rows written."""
    import math
    import random
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from orderguard.analysis import histogram
    from orderguard.analysis.models import DailyStat
    from orderguard.analysis.rollup import NUMBERS
    from orderguard.catalog.models import Warehouse
    from orderguard.core import bulk
    from orderguard.orders.models import Channel
    from orderguard.tenancy.models import Membership, Merchant

    rng = random.Random(17)
    warehouse = Warehouse.objects.create(code="bench-wh", name="Bench warehouse")
    merchants = [Merchant.objects.create(code=code, name=code.upper()) for code, _w in MERCHANTS]
    channels = {
        m.pk: [
            Channel.objects.create(
                merchant=m, platform=p, code=f"{m.code}-{p}", name=f"{m.code} {p}", warehouse=warehouse
            ).pk
            for p in PLATFORMS[: 2 + m.pk % 3]
        ]
        for m in merchants
    }
    staff = []
    for i in range(STAFF_USERS):
        user = User.objects.create_user(f"bench-staff-{i}", password=None)
        Membership.objects.create(user=user, role="operator")
        staff.append(str(user.pk))
    manager = User.objects.create_user("bench-manager", password=None)
    Membership.objects.create(user=manager, role="manager")
    provinces = [f"省{i:02d}" for i in range(31)]
    today = timezone.localdate()
    # `cases` in each month: the month reported and the one before it
    per_day = cases / 30
    rows: list[DailyStat] = []
    written = 0

    def split(n: int, parts: int) -> list[int]:
        cuts = sorted(rng.randint(0, n) for _ in range(parts - 1))
        return [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]

    for d in range(days):
        day = today - timedelta(days=d)
        day_start = len(rows)
        for (code, mw), m in zip(MERCHANTS, merchants, strict=True):
            for t, tw in TYPES:
                opened = int(per_day * mw * tw)
                closed = int(opened * 0.95)
                ok, failed = int(closed * 0.8), int(closed * 0.1)
                cancelled = closed - ok - failed
                hist: dict[str, int] = {}
                whist: dict[str, int] = {}
                seconds = working = 0
                # two steps per case: the first a third of its time, the second the rest
                step_hists: dict[str, tuple[dict[str, int], dict[str, int]]] = {
                    "first": ({}, {}),
                    "second": ({}, {}),
                }
                for _ in range(min(closed, 400)):  # a sample shapes the histograms
                    h = math.exp(rng.gauss(math.log(4 * 3600), 1.0))
                    histogram.add(hist, h, max(1, closed // 400))
                    histogram.add(whist, h * 0.4, max(1, closed // 400))
                    for step, part in (("first", 1 / 3), ("second", 2 / 3)):
                        histogram.add(step_hists[step][0], h * part, max(1, closed // 400))
                        histogram.add(step_hists[step][1], h * part * 0.4, max(1, closed // 400))
                    seconds += int(h)
                    working += int(h * 0.4)
                scale = closed / max(1, min(closed, 400))
                base = {"merchant_id": m.pk, "day": day, "case_type": t}
                figures = {
                    "opened": opened,
                    "closed": closed,
                    "succeeded": ok,
                    "failed": failed,
                    "cancelled": cancelled,
                    "handling_seconds": int(seconds * scale),
                    "working_seconds": int(working * scale),
                }
                rows.append(
                    bulk.new(
                        DailyStat,
                        **base,
                        dim="total",
                        key="",
                        **figures,
                        handling_hist=hist,
                        working_hist=whist,
                    )
                )
                rows.append(bulk.new(DailyStat, **base, dim="source", key="D2", **figures))
                for dim, keys in (
                    ("channel", [str(c) for c in channels[m.pk]]),
                    ("province", provinces),
                    ("assignee", ["", *staff]),
                ):
                    for key, n in zip(keys, split(opened, len(keys)), strict=True):
                        part = n / max(1, opened)
                        rows.append(
                            bulk.new(
                                DailyStat,
                                **base,
                                dim=dim,
                                key=key,
                                **{k: int(v * part) for k, v in figures.items()},
                            )
                        )
                if t == "T1":
                    for i, n in enumerate(split(opened, skus)):
                        rows.append(
                            bulk.new(
                                DailyStat, **base, dim="sku", key=f"{code}-SKU-{i:03d}", opened=n, closed=n
                            )
                        )
                for step, part in (("first", 1 / 3), ("second", 2 / 3)):
                    rows.append(
                        bulk.new(
                            DailyStat,
                            **base,
                            dim="step",
                            key=step,
                            steps_closed=closed,
                            steps_late=closed // 12,
                            overdue=closed // 12,
                            handling_seconds=int(figures["handling_seconds"] * part),
                            working_seconds=int(figures["working_seconds"] * part),
                            handling_hist=step_hists[step][0],
                            working_hist=step_hists[step][1],
                        )
                    )
        # the warehouse's rows (merchant None): the day's rows added up over the merchants
        whole: dict[tuple[str, str, str], DailyStat] = {}
        for r in rows[day_start:]:
            w = whole.get((r.case_type, r.dim, r.key))
            if w is None:
                w = whole[(r.case_type, r.dim, r.key)] = bulk.new(
                    DailyStat, merchant_id=None, day=day, case_type=r.case_type, dim=r.dim, key=r.key
                )
                w.handling_hist, w.working_hist = {}, {}
            for f in NUMBERS:
                setattr(w, f, getattr(w, f) + getattr(r, f))
            histogram.merge_into(w.handling_hist, r.handling_hist)
            histogram.merge_into(w.working_hist, r.working_hist)
        rows.extend(whole.values())
        if len(rows) > 20_000:
            with transaction.atomic():
                for obj, pk in zip(rows, bulk.reserve_ids(DailyStat, len(rows)), strict=True):
                    obj.pk = pk
                bulk.insert(rows)
            written += len(rows)
            rows = []
    if rows:
        with transaction.atomic():
            for obj, pk in zip(rows, bulk.reserve_ids(DailyStat, len(rows)), strict=True):
                obj.pk = pk
            bulk.insert(rows)
        written += len(rows)
    return written


def _report_child(cases: int, reps: int) -> dict[str, Any]:
    """Runs inside a process whose settings point at an empty database: the rollups of `cases`
    cases over two months, then the monthly report (this month and the one before it as the
    comparison) for the whole warehouse and for the largest merchant, and the page."""
    import statistics
    from datetime import timedelta

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", interactive=False, verbosity=0)
    from orderguard.analysis.periods import Period
    from orderguard.analysis.selectors import report_build, report_scope
    from orderguard.tenancy.access import actor_for

    started = time.perf_counter()
    rows = generate_rollups(cases)
    generate_seconds = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    boss = User.objects.get(username="bench-manager")
    actor = actor_for(boss)
    today = timezone.localdate()
    month = Period(first=today - timedelta(days=29), last=today)
    figures = []
    for label, code in (
        ("monthly report, whole warehouse", ""),
        ("monthly report, one merchant", MERCHANTS[0][0]),
    ):
        scope = report_scope(actor=actor, merchant_code=code)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            report = report_build(scope=scope, period=month, actor=actor)
            times.append((time.perf_counter() - t0) * 1000)
        figures.append(
            {
                "what": label,
                "median_ms": round(statistics.median(times), 1),
                "p95_ms": round(sorted(times)[max(0, int(len(times) * 0.95) - 1)], 1),
                "cases_opened": report["totals"]["opened"],
            }
        )
    client = Client()
    client.force_login(boss)
    median, p95, _size = _time_get(client, "/reports/?period=this_month", reps)
    figures.append(
        {"what": "page /reports/ (this month)", "median_ms": median, "p95_ms": p95, "cases_opened": None}
    )
    return {
        "database": connection.vendor,
        "cases": cases,
        "rows": rows,
        "generate_seconds": round(generate_seconds, 1),
        "figures": figures,
    }


def _run_child(db: str, args: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DJANGO_SETTINGS_MODULE"] = "orderguard.config.settings"
    tmp = tempfile.mkdtemp(prefix="og-bench-")
    env["OG_VAR_DIR"] = tmp
    env["OG_ALLOWED_HOSTS"] = "testserver"
    if db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = f"{PG_ADMIN_URL}/{PG_DB}"
    try:
        out = subprocess.run(
            [sys.executable, "-m", "orderguard.bench", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if db == "postgres":
            with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
    if out.returncode != 0:
        raise SystemExit(f"{db} benchmark failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="orderguard.bench")
    p.add_argument("--orders", type=int, default=100_000, help="orders to import (0: skip the imports)")
    p.add_argument("--cases", type=int, default=1_000_000, help="cases to generate (0: skip the reads)")
    p.add_argument("--reps", type=int, default=30, help="requests timed per figure of the reads")
    p.add_argument("--outbox", type=int, default=10_000, help="messages to drain (0: skip the outbox)")
    p.add_argument(
        "--recheck", type=int, default=100_000, help="orders waiting for stock (0: skip the re-check)"
    )
    p.add_argument(
        "--report-cases",
        type=int,
        default=5_000_000,
        help="cases behind the monthly report's rollups (0: skip the report)",
    )
    p.add_argument("--only", choices=["sqlite", "postgres"])
    p.add_argument(
        "--child", choices=["import", "reads", "outbox", "recheck", "report"], help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)
    if args.child == "import":
        print(json.dumps(_child(args.orders)))
        return 0
    if args.child == "outbox":
        print(json.dumps(_outbox_child(args.outbox)))
        return 0
    if args.child == "reads":
        print(json.dumps(_reads_child(args.cases, args.reps), default=str))
        return 0
    if args.child == "recheck":
        print(json.dumps(_recheck_child(args.recheck)))
        return 0
    if args.child == "report":
        print(json.dumps(_report_child(args.report_cases, args.reps)))
        return 0
    databases = [db for db in ("sqlite", "postgres") if args.only in (None, db)]
    results: list[dict[str, Any]] = []
    if args.orders > 0:
        results = [_run_child(db, ["--child", "import", "--orders", str(args.orders)]) for db in databases]
        print(
            f"import of {args.orders} generated orders (generic CSV), end to end vs raw insert of the same rows"
        )
        print(
            f"{'database':<11}{'orders/s':>10}{'raw orders/s':>14}{'ratio':>8}{'rows':>9}{'cases':>8}{'re-import/s':>13}"
        )
        for r in results:
            print(
                f"{r['database']:<11}{r['orders_per_s']:>10}{r['raw_orders_per_s']:>14}{r['ratio_to_raw']:>8}"
                f"{r['rows']:>9}{r['cases_opened']:>8}{r['reimport_orders_per_s']:>13}"
            )
        try:
            from orderguard.validation import bench as vbench

            vbench.main()
        except ImportError:
            pass
    reads: list[dict[str, Any]] = []
    if args.cases > 0:
        reads = [
            _run_child(db, ["--child", "reads", "--cases", str(args.cases), "--reps", str(args.reps)])
            for db in databases
        ]
        _print_reads(reads)
    outbox: list[dict[str, Any]] = []
    if args.outbox > 0:
        outbox = [_run_child(db, ["--child", "outbox", "--outbox", str(args.outbox)]) for db in databases]
        _print_outbox(outbox)
    rechecks: list[dict[str, Any]] = []
    if args.recheck > 0:
        rechecks = [
            _run_child(db, ["--child", "recheck", "--recheck", str(args.recheck)]) for db in databases
        ]
        print(
            f"\nstock re-check: one receipt serving {args.recheck:,} waiting orders (each with an open T1 case)"
        )
        print(
            f"{'database':<11}{'seconds':>9}{'orders/s':>10}{'served':>9}{'closed':>9}{'open left':>11}"
            f"{'floor s':>9}"
        )
        for r in rechecks:
            print(
                f"{r['database']:<11}{r['recheck_seconds']:>9}{r['orders_per_s']:>10}{r['served']:>9}"
                f"{r['cases_closed']:>9}{r['open_cases_left']:>11}{r['floor_seconds']:>9}"
            )
        print("floor: the same rows written set-based without deciding anything, same run, rolled back")
    reports: list[dict[str, Any]] = []
    if args.report_cases > 0:
        reports = [
            _run_child(
                db, ["--child", "report", "--report-cases", str(args.report_cases), "--reps", str(args.reps)]
            )
            for db in databases
        ]
        print(f"\nmonthly report over {args.report_cases:,} cases (rollups written directly; target 500 ms)")
        print(f"{'database':<11}{'what':<36}{'median ms':>10}{'p95 ms':>9}{'rows':>9}")
        for r in reports:
            for f in r["figures"]:
                print(f"{r['database']:<11}{f['what']:<36}{f['median_ms']:>10}{f['p95_ms']:>9}{r['rows']:>9}")
    print(
        json.dumps(
            {"imports": results, "reads": reads, "outbox": outbox, "recheck": rechecks, "reports": reports}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
