"""The `orderguard` command. Thin: parse arguments, call one service or selector, print.

`--json` output is stable (docs/cli.md): keys are only ever added, never renamed or removed.
Exit codes: 0 success, 1 the work ran but found errors (rejected rows, unhealthy check),
2 bad usage or unknown reference (channel, merchant, file).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderguard.config.settings")
    import django

    django.setup()


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def _fail(message: str, *, as_json: bool, code: str = "USAGE") -> int:
    if as_json:
        _print_json({"ok": False, "error": {"code": code, "message": message}})
    else:
        print(message, file=sys.stderr)
    return 2


def _read_files(paths: list[str]) -> list[Any]:
    from orderguard.intake.adapters.base import SourceFile

    files = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise FileNotFoundError(p)
        files.append(SourceFile(name=path.name, data=path.read_bytes()))
    return files


def _batch_dict(batch: Any, *, max_errors: int = 1000) -> dict[str, Any]:
    errors = list(batch.errors.all()[:max_errors])
    return {
        "ok": batch.status == "done" and batch.rows_failed == 0,
        "batch": batch.pk,
        "kind": batch.kind,
        "format": batch.format,
        "status": batch.status,
        "files": batch.file_names,
        "rows": batch.rows_total,
        "created": batch.created,
        "updated": batch.updated,
        "unchanged": batch.unchanged,
        "failed": batch.rows_failed,
        "cases_opened": batch.cases_opened,
        "errors": [
            {
                "file": e.file,
                "row": e.row,
                "field": e.field,
                "code": e.code,
                "message": e.message,
                "value": e.value,
            }
            for e in errors
        ],
    }


def _print_batch(data: dict[str, Any]) -> None:
    from django.utils.translation import gettext as _

    print(
        _(
            "批次 %(batch)s（%(format)s）：%(status)s。新增 %(created)d，更新 %(updated)d，未变 %(unchanged)d，"
            "错误 %(failed)d，新开异常单 %(cases)d"
        )
        % {**data, "cases": data["cases_opened"]}
    )
    for e in data["errors"][:50]:
        where = f"{e['file']}:{e['row']}" if e["row"] else e["file"]
        print(f"  {where} [{e['field'] or '-'}] {e['code']}: {e['message']}")
    if data["failed"] > 50:
        print(_("  …另有 %(n)d 条错误") % {"n": data["failed"] - 50})


def _progress_printer(enabled: bool) -> Any:
    if not enabled:
        return None

    def show(batch: Any) -> None:
        done = batch.created + batch.updated + batch.unchanged
        sys.stderr.write(f"\r… {done} orders, {batch.rows_failed} errors")
        sys.stderr.flush()

    return show


def cmd_import(args: argparse.Namespace) -> int:
    _setup_django()
    from orderguard.intake.masterdata import catalog_import, masterdata_import, stock_import
    from orderguard.intake.services import orders_import
    from orderguard.orders.models import Channel
    from orderguard.tenancy.models import Merchant

    try:
        files = _read_files(args.paths)
    except FileNotFoundError as exc:
        return _fail(f"file not found: {exc}", as_json=args.json, code="FILE_NOT_FOUND")
    if args.what == "orders":
        if not args.channel:
            return _fail("--channel is required for orders", as_json=args.json)
        channel = Channel.objects.select_related("merchant").filter(code=args.channel).first()
        if channel is None:
            return _fail(f"unknown channel: {args.channel}", as_json=args.json, code="UNKNOWN_CHANNEL")
        show = _progress_printer(not args.json and sys.stderr.isatty())
        batch = orders_import(files=files, channel=channel, format=args.format, progress=show)
        if show:
            sys.stderr.write("\n")
    elif len(files) > 1:
        return _fail(f"import {args.what} takes one file", as_json=args.json)
    elif args.what in ("catalog", "stock"):
        if not args.merchant:
            return _fail(f"--merchant is required for {args.what}", as_json=args.json)
        merchant = Merchant.objects.filter(code=args.merchant).first()
        if merchant is None:
            return _fail(f"unknown merchant: {args.merchant}", as_json=args.json, code="UNKNOWN_MERCHANT")
        fn = catalog_import if args.what == "catalog" else stock_import
        batch = fn(file=files[0], merchant=merchant)
    else:
        batch = masterdata_import(file=files[0])
    data = _batch_dict(batch)
    if args.json:
        _print_json(data)
    else:
        _print_batch(data)
    return 0 if data["ok"] else 1


def cmd_cases(args: argparse.Namespace) -> int:
    _setup_django()
    from orderguard.cases.selectors import cases_list

    qs = cases_list(case_type=args.type, status=args.status, merchant_code=args.merchant)
    total = qs.count()
    cases = list(qs.select_related("order__channel")[: args.limit])
    rows: list[dict[str, Any]] = [
        {
            "id": c.pk,
            "type": c.type,
            "status": c.status,
            "source": c.source,
            "merchant": c.merchant.code,
            "order": c.order.platform_order_id,
            "channel": c.order.channel.code,
            "step": c.step,
            "due_at": c.due_at.isoformat() if c.due_at else None,
            "codes": [f["code"] for f in c.findings],
            "opened_at": c.opened_at.isoformat(),
        }
        for c in cases
    ]
    if args.json:
        _print_json({"total": total, "cases": rows})
        return 0
    from django.utils import timezone

    for c, r in zip(cases, rows, strict=True):
        due = timezone.localtime(c.due_at).strftime("%m-%d %H:%M") if c.due_at else "-"
        print(
            f"{r['id']:>8} {r['type']} {r['status']:<11} {r['merchant']:<12} {r['order']:<22} {due}  {','.join(r['codes'])}"
        )
    print(f"{len(rows)} / {total}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _setup_django()
    from orderguard.monitoring.health import system_health

    report = system_health(wait_for_worker=args.wait)
    if args.json:
        _print_json(report.as_dict())
    else:
        for c in report.components:
            print(f"{'OK ' if c.ok else 'BAD'} {c.name:<9} {c.detail}")
    return 0 if report.ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    _setup_django()
    from orderguard.analysis.rollup import rollup_rebuild
    from orderguard.intake.demo import demo_run

    summary = demo_run(orders=args.orders, seed=args.seed, progress=not args.json)
    if args.outage:
        from orderguard.incidents.demo import demo_outage

        summary["outage"] = demo_outage(progress=not args.json)
    # S3: the analysis page reads the daily rollups; the demo's cases counted at once rather
    # than at the worker's next five-minute catch-up
    summary["rollup_rows"] = rollup_rebuild().rows
    if args.json:
        _print_json(summary)
    else:
        for key, value in summary["cases_by_type"].items():
            print(f"{key}: {value}")
        print(f"orders: {summary['orders']}  cases: {summary['cases']}")
        history = summary.get("history")
        if history:
            print(
                f"history: {history['orders']} orders and {history['cases']} cases over the month before, "
                f"{history['incidents']} channel faults, improvement action #{history['action']}"
            )
        story = summary.get("stockout_story")
        if story:
            print(
                f"stock-out story: {story['sku']} short for {story['orders']} orders of {story['merchant']}, "
                f"{story['notices']} message, transfer {story['transfer']['status']}, "
                f"{story['allocated']} allocated, {story['shipped']} shipped, "
                f"cases resolved {story['cases_resolved']}"
            )
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    call_command("run_huey", workers=args.workers, worker_type="thread")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Web server (gunicorn) plus, unless --no-worker, a worker process running the queue and
    the periodic jobs: everything the embedded profile needs in one command."""
    _setup_django()
    worker = None
    if not args.no_worker:
        worker = subprocess.Popen([sys.executable, "-m", "orderguard.cli", "worker"])
    try:
        from gunicorn.app.base import BaseApplication

        from orderguard.config.wsgi import application

        class Server(BaseApplication):
            def load_config(self) -> None:
                self.cfg.set("bind", f"{args.host}:{args.port}")
                self.cfg.set("workers", args.web_workers)
                self.cfg.set("accesslog", "-")

            def load(self) -> Any:
                return application

        Server().run()
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    _setup_django()
    from orderguard.core.errors import InvalidInput
    from orderguard.tenancy.services import user_active_set, user_create

    if args.disable or args.enable:
        if args.role or args.merchant:
            return _fail("--disable/--enable take no --role or --merchant", as_json=args.json)
        try:
            ended = user_active_set(username=args.username, active=args.enable)
        except InvalidInput as exc:
            return _fail(str(exc), as_json=args.json, code="INVALID_INPUT")
        if args.json:
            _print_json(
                {"ok": True, "username": args.username, "active": args.enable, "sessions_ended": ended}
            )
        else:
            state = "enabled" if args.enable else f"disabled, {ended} session(s) ended"
            print(f"{args.username}: {state}")
        return 0
    if not args.role:
        return _fail("--role is required to create a user", as_json=args.json)
    try:
        user, password = user_create(
            username=args.username, role=args.role, merchant_code=args.merchant or ""
        )
    except InvalidInput as exc:
        return _fail(str(exc), as_json=args.json, code="INVALID_INPUT")
    if args.json:
        _print_json({"ok": True, "username": user.get_username(), "role": args.role, "password": password})
    else:
        print(f"{user.get_username()} ({args.role}) password: {password}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    _setup_django()
    from orderguard.core.errors import InvalidInput
    from orderguard.tenancy.services import api_token_create

    try:
        token, raw = api_token_create(username=args.username, name=args.name)
    except InvalidInput as exc:
        return _fail(str(exc), as_json=args.json, code="INVALID_INPUT")
    if args.json:
        _print_json({"ok": True, "name": token.name, "prefix": token.prefix, "token": raw})
    else:
        print(f"token for {args.username} ({token.name}), shown once: {raw}")
    return 0


def cmd_anonymise(args: argparse.Namespace) -> int:
    _setup_django()
    from django.utils.translation import gettext as _

    from orderguard.orders.services import orders_anonymise

    result = orders_anonymise(dry_run=args.dry_run)
    if args.json:
        _print_json(
            {
                "ok": True,
                "dry_run": result.dry_run,
                "retention_days": result.retention_days,
                "orders": result.orders,
            }
        )
    elif result.dry_run:
        print(
            _("%(n)d 个已关闭订单超过 %(days)d 天，个人信息将被清除（未执行）")
            % {"n": result.orders, "days": result.retention_days}
        )
    else:
        print(
            _("已清除 %(n)d 个已关闭订单的个人信息（超过 %(days)d 天）")
            % {"n": result.orders, "days": result.retention_days}
        )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    _setup_django()
    from orderguard.validation.evaluate import EvalInputError, evaluate, read_labelled, report_lines

    path = Path(args.file)
    if not path.is_file():
        return _fail(f"no such file: {args.file}", as_json=args.json, code="NOT_FOUND")
    try:
        with path.open(encoding="utf-8") as stream:
            items = read_labelled(stream)
    except UnicodeDecodeError:
        return _fail(f"{args.file}: not UTF-8 text", as_json=args.json, code="INVALID_INPUT")
    except EvalInputError as exc:
        return _fail(f"{args.file}: {exc}", as_json=args.json, code="INVALID_INPUT")
    result = evaluate(items)
    if args.json:
        _print_json({key: result[key] for key in ("n", "accuracy", "vague", "per_second")})
    else:
        print("\n".join(report_lines(result)))
    return 0


def cmd_rules_dry_run(args: argparse.Namespace) -> int:
    _setup_django()
    from django.utils.translation import gettext as _

    from orderguard.core import clock
    from orderguard.tenancy.models import Merchant
    from orderguard.validation.rules import (
        DRY_RUN_OUTCOMES,
        MAX_DRY_RUN_DAYS,
        RuleChangeRefused,
        rules_dry_run,
    )

    merchant = Merchant.objects.filter(code=args.merchant).first()
    if merchant is None:
        return _fail(
            _("没有这个商家：%(code)s") % {"code": args.merchant}, as_json=args.json, code="NOT_FOUND"
        )
    if not 1 <= args.days <= MAX_DRY_RUN_DAYS:
        return _fail(
            _("天数须在 1 到 %(max)d 之间") % {"max": MAX_DRY_RUN_DAYS},
            as_json=args.json,
            code="INVALID_INPUT",
        )
    try:
        report = rules_dry_run(
            merchant_id=merchant.pk, code=args.code, severity=args.severity, days=args.days, now=clock.now()
        )
    except RuleChangeRefused as exc:
        return _fail(f"{exc.code}: {exc.rule} {exc.value}".strip(), as_json=args.json, code=exc.code)
    counts = {outcome: report.counts.get(outcome, 0) for outcome in DRY_RUN_OUTCOMES}
    samples = {outcome: report.samples.get(outcome, []) for outcome in DRY_RUN_OUTCOMES}
    if args.json:
        _print_json(
            {
                "ok": True,
                "merchant": merchant.code,
                "code": report.code,
                "current": report.current,
                "proposed": report.proposed,
                "days": report.days,
                "orders_checked": report.orders_checked,
                "orders_with_finding": report.orders_with_finding,
                "counts": counts,
                "samples": samples,
            }
        )
        return 0
    print(
        _(
            "%(code)s：%(current)s → %(proposed)s，近 %(days)d 天 %(checked)d 个订单，其中 %(found)d 个有此项（未写入）"
        )
        % {
            "code": report.code,
            "current": report.current,
            "proposed": report.proposed,
            "days": report.days,
            "checked": report.orders_checked,
            "found": report.orders_with_finding,
        }
    )
    for outcome in DRY_RUN_OUTCOMES:
        ids = " ".join(str(i) for i in samples[outcome])
        print(f"  {outcome}: {counts[outcome]}" + (f"  ({ids})" if ids else ""))
    return 0


def cmd_analysis_rebuild(args: argparse.Namespace) -> int:
    _setup_django()
    from datetime import date

    from django.utils.translation import gettext as _

    from orderguard.analysis.rollup import rollup_rebuild

    try:
        first = date.fromisoformat(args.date_from) if args.date_from else None
        last = date.fromisoformat(args.date_to) if args.date_to else None
    except ValueError:
        return _fail(_("日期格式应为 YYYY-MM-DD"), as_json=args.json, code="INVALID_INPUT")
    if first is not None and last is not None and first > last:
        return _fail(_("开始日期晚于结束日期"), as_json=args.json, code="INVALID_INPUT")
    result = rollup_rebuild(first=first, last=last)
    if args.json:
        _print_json(
            {
                "ok": True,
                "from": result.first.isoformat() if result.first else None,
                "to": result.last.isoformat() if result.last else None,
                "rows": result.rows,
            }
        )
    elif result.first is None or result.last is None:
        print(_("没有异常单日志，无需重算"))
    else:
        print(
            _("已重算 %(first)s 至 %(last)s 的统计：%(rows)d 行")
            % {"first": result.first.isoformat(), "last": result.last.isoformat(), "rows": result.rows}
        )
    return 0


def cmd_reports_send(args: argparse.Namespace) -> int:
    """Queue the weekly (last week) or monthly (last month) report for everyone who has not had
    it; the worker's outbox job sends it. The same recipients as the scheduled run."""
    _setup_django()
    from django.utils.translation import gettext as _

    from orderguard.analysis.delivery import reports_send
    from orderguard.core import clock

    kind = {"last-week": "weekly", "last-month": "monthly"}[args.period]
    result = reports_send(kind=kind, now=clock.now(), dry_run=args.dry_run)
    if args.json:
        _print_json({"ok": True, "dry_run": args.dry_run, **result.as_dict()})
        return 0
    for r in result.recipients:
        state = _("待发送") if r["queued"] else _("已发送过")
        print(f"{r['merchant'] or _('全仓')}\t{r['address']}\t{r['language']}\t{state}")
    for code in result.without_contact:
        print(_("商家 %(code)s 没有报表联系人，也没有联系邮箱：不发送") % {"code": code})
    if args.dry_run:
        print(
            _("%(first)s 至 %(last)s：将发送 %(n)d 份（试运行，未发送）")
            % {
                "first": result.period.first.isoformat(),
                "last": result.period.last.isoformat(),
                "n": len(result.recipients) - result.already,
            }
        )
    else:
        print(
            _("%(first)s 至 %(last)s：已排队 %(n)d 份，之前已发送 %(already)d 份")
            % {
                "first": result.period.first.isoformat(),
                "last": result.period.last.isoformat(),
                "n": result.queued,
                "already": result.already,
            }
        )
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["orderguard manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="orderguard", description="OrderGuard exception-order system")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="web server plus worker and scheduler (embedded profile)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--web-workers", type=int, default=2)
    s.add_argument("--no-worker", action="store_true", help="do not start a worker beside the server")
    s.set_defaults(fn=cmd_serve)

    s = sub.add_parser("worker", help="run background jobs and periodic tasks (Huey)")
    s.add_argument("--workers", type=int, default=2)
    s.set_defaults(fn=cmd_worker)

    s = sub.add_parser("setup", help="create or migrate the database and collect static files")
    s.set_defaults(fn=cmd_setup)

    s = sub.add_parser("import", help="import orders, catalog, stock or master data")
    s.add_argument("what", choices=["orders", "catalog", "stock", "masterdata"])
    s.add_argument("paths", nargs="+", help="file(s); a Taobao export is its order file and its item file")
    s.add_argument("--channel", help="channel code (orders)")
    s.add_argument("--merchant", help="merchant code (catalog, stock)")
    s.add_argument("--format", default="auto", choices=["auto", "generic", "taobao", "shopify", "douyin"])
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_import)

    s = sub.add_parser("cases", help="list exception cases")
    s.add_argument("--type", choices=["T1", "T2", "T3", "T4", "T5"])
    s.add_argument("--status", default="open", help="open (default), all, or a status")
    s.add_argument("--merchant")
    s.add_argument("--limit", type=int, default=100)
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_cases)

    s = sub.add_parser("demo", help="create demo master data, catalog, stock and a day of orders")
    s.add_argument("--orders", type=int, default=3000)
    s.add_argument("--seed", type=int, default=20261126)
    s.add_argument(
        "--outage",
        action="store_true",
        help="then stage a channel outage: detection, incident, manual orders, reconciliation",
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_demo)

    s = sub.add_parser("check", help="database, queue and worker health")
    s.add_argument(
        "--wait", type=float, default=5.0, help="seconds to wait for a worker to answer (0: heartbeat only)"
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_check)

    s = sub.add_parser(
        "user", help="create a user with a role (the password is printed once), or disable/enable one"
    )
    s.add_argument("username")
    s.add_argument("--role", help="operator, cs_agent, tech_oncall, manager, admin or merchant")
    s.add_argument("--merchant", help="merchant code (merchant users)")
    state = s.add_mutually_exclusive_group()
    state.add_argument(
        "--disable", action="store_true", help="disable the user and end its signed-in sessions at once"
    )
    state.add_argument("--enable", action="store_true", help="enable a disabled user again")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_user)

    s = sub.add_parser("token", help="create an API token for a user (printed once)")
    s.add_argument("username")
    s.add_argument("--name", required=True, help="what the token is for, e.g. the integration")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_token)

    s = sub.add_parser(
        "anonymise",
        help="remove the recipient's personal data from closed orders older than OG_RECIPIENT_RETENTION_DAYS",
    )
    s.add_argument("--dry-run", action="store_true", help="only count the orders that are due")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_anonymise)

    s = sub.add_parser("eval", help="evaluate the address parser and checks on labelled addresses (JSONL)")
    s.add_argument("what", choices=["address"])
    s.add_argument("file", help='one JSON object per line: {"raw": ..., "parts": {...}, "vague": ...}')
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_eval)

    s = sub.add_parser("rules", help="the checks' rules per merchant")
    rules = s.add_subparsers(dest="rules_command", required=True)
    r = rules.add_parser(
        "dry-run", help="replay a rule change over the merchant's recent orders and say what it would change"
    )
    r.add_argument("--merchant", required=True, help="the merchant's code")
    r.add_argument("--code", required=True, help="the finding code, e.g. PHONE_MASKED")
    r.add_argument("--severity", required=True, help="blocking, warning, off or default")
    r.add_argument("--days", type=int, default=30, help="orders paid in the last N days (1-90, default 30)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=cmd_rules_dry_run)

    s = sub.add_parser("analysis", help="weekly and monthly analysis (S3)")
    analysis = s.add_subparsers(dest="analysis_command", required=True)
    r = analysis.add_parser("rebuild", help="recompute the daily rollups from the case events")
    r.add_argument("--from", dest="date_from", help="first day (YYYY-MM-DD; default: the first event's day)")
    r.add_argument("--to", dest="date_to", help="last day (YYYY-MM-DD; default: the last event's day)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=cmd_analysis_rebuild)

    s = sub.add_parser("reports", help="the weekly and monthly reports by email (S3)")
    reports = s.add_subparsers(dest="reports_command", required=True)
    r = reports.add_parser("send", help="queue the report for managers and merchant contacts not yet sent it")
    r.add_argument("--period", choices=["last-week", "last-month"], required=True)
    r.add_argument("--dry-run", action="store_true", help="list the recipients; build and send nothing")
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=cmd_reports_send)

    s = sub.add_parser("manage", help="run a Django management command")
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(fn=cmd_manage)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # A database that is down or not set up is an operator's problem to fix, not a traceback.
        from django.db import DatabaseError

        if not isinstance(exc, DatabaseError):
            raise
        hint = (
            " (run `orderguard setup` first)"
            if "no such table" in str(exc) or "does not exist" in str(exc)
            else ""
        )
        return _fail(f"database error: {exc}{hint}", as_json=getattr(args, "json", False), code="DATABASE")


if __name__ == "__main__":
    sys.exit(main())
