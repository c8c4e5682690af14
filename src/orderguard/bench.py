"""`make bench`: import 100k generated orders through the real path on SQLite and on
PostgreSQL, beside the raw insert rate of the same rows measured in the same run
(`executemany` on SQLite, `COPY` on PostgreSQL). Each database runs in its own process
(Django's settings are per process); this module orchestrates and prints the table.

    python -m orderguard.bench [--orders 100000] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

PG_ADMIN_URL = os.environ.get("OG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PG_DB = "orderguard_bench"


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


def _run_child(db: str, orders: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DJANGO_SETTINGS_MODULE"] = "orderguard.config.settings"
    tmp = tempfile.mkdtemp(prefix="og-bench-")
    env["OG_VAR_DIR"] = tmp
    if db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = f"{PG_ADMIN_URL}/{PG_DB}"
    out = subprocess.run(
        [sys.executable, "-m", "orderguard.bench", "--child", "--orders", str(orders)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{db} benchmark failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="orderguard.bench")
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--only", choices=["sqlite", "postgres"])
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.orders)))
        return 0
    results = [_run_child(db, args.orders) for db in ("sqlite", "postgres") if args.only in (None, db)]
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
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
