"""Patterns and advice of the analysis (S3, B5): what recurs, and what to do about it.

- SKUs out of stock again and again (T1 cases opened on at least `RECUR_DAYS` days of the
  period), each with a suggested safety stock ``z * sigma_d * sqrt(L) + d_mean * L``: `d` the
  SKU's ordered quantity per day over the period (days without orders count as 0; mean and
  population standard deviation), `L` the replenishment lead time in days
  (`OG_REPLENISH_LEAD_DAYS`: the warehouse keeps no history of inbound ETAs against arrivals
  to derive it from), `z` the standard normal quantile of the service level
  (`OG_SERVICE_LEVEL`, default 0.95 -> z = 1.645); the answer rounded up;
- channels whose faults recur (T4 cases on at least `RECUR_DAYS` days), with the minutes the
  faults stayed open: the channel's incidents (`incidents.Incident`, from `opened_at` to
  `resolved_at`) resolved in the period when it has any, else from the alarm to the
  resolution of each of its T4 cases closed in the period;
- provinces and merchants with many recipient-information errors (T2, at least
  `MIN_ADDRESS_ERRORS` cases).

- merchants whose orders fail the daily sample audit (B5, `orderguard.audits`): of the audit
  lines of the period's days checked by a person, the failed share estimated as the audits do
  (`audits.sampling.estimate`: Hájek, each line weighed by 1 / its inclusion probability, with
  the 95 % Wilson interval at Kish's effective size), listed when the interval's lower bound
  is at least `AUDIT_MIN_SHARE`; its orders affected are the share times the merchant's orders
  the drawn lines stand for (the sum of 1 / inclusion), and the checklist items that failed
  are counted. Staff only: merchant users see nothing of the audits.

Findings are ranked by impact: the orders affected (cases opened, or estimated faulty orders
for the audits) in the period.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import timedelta
from statistics import NormalDist, mean, pstdev
from typing import Any

from django.conf import settings
from django.db.models import Sum

from orderguard.analysis.choices import Dim
from orderguard.analysis.periods import Period
from orderguard.analysis.rollup import day_start
from orderguard.analysis.selectors import PeriodSums, Scope, period_sums
from orderguard.audits.models import AuditLine, LineStatus
from orderguard.audits.sampling import estimate
from orderguard.catalog.models import Sku
from orderguard.core.choices import ExceptionType
from orderguard.incidents.models import Incident
from orderguard.inventory.models import StockLevel
from orderguard.orders.models import Channel, OrderLine
from orderguard.tenancy.models import Merchant

RECUR_DAYS = 2
# the audit's failed share a merchant's finding needs, at the lower bound of its interval
AUDIT_MIN_SHARE = 0.05
MIN_ADDRESS_ERRORS = 3
# How many findings of each kind are listed.
TOP = 10


def safety_stock(*, daily: list[int], lead_days: int, service_level: float) -> dict[str, Any]:
    """The suggested safety stock and its inputs: ``z * sigma_d * sqrt(L) + d_mean * L``."""
    z = NormalDist().inv_cdf(service_level)
    d_mean = mean(daily) if daily else 0.0
    sigma = pstdev(daily) if len(daily) > 1 else 0.0
    value = z * sigma * math.sqrt(lead_days) + d_mean * lead_days
    return {
        "z": round(z, 3),
        "service_level": service_level,
        "demand_mean": round(d_mean, 2),
        "demand_std": round(sigma, 2),
        "lead_days": lead_days,
        "days": len(daily),
        "suggested": math.ceil(value - 1e-9),
    }


def _daily_demand(pairs: list[tuple[int, str]], period: Period) -> dict[tuple[int, str], list[int]]:
    """Ordered quantity per local day of the period (by payment time) of each (merchant, SKU
    code), in one query."""
    by_day: dict[tuple[int, str], dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    if pairs:
        tz = day_start(period.first).tzinfo
        wanted = set(pairs)
        lines = OrderLine.objects.filter(
            sku_code__in={sku for _m, sku in pairs},
            order__merchant_id__in={m for m, _sku in pairs},
            order__paid_at__gte=day_start(period.first),
            order__paid_at__lt=day_start(period.last + timedelta(days=1)),
        ).values_list("order__merchant_id", "sku_code", "order__paid_at", "quantity")
        for merchant_id, sku, paid_at, quantity in lines:
            if paid_at is not None and (merchant_id, sku) in wanted:
                by_day[(merchant_id, sku)][paid_at.astimezone(tz).date()] += quantity
    return {pair: [by_day[pair].get(d, 0) for d in period.each_day()] for pair in pairs}


def _incident_seconds(channel_ids: list[int], period: Period) -> dict[int, int]:
    """The seconds each channel's incidents resolved in the period stayed open (opened ->
    resolved), in one query; a channel without such incidents is absent."""
    out: dict[int, int] = defaultdict(int)
    if channel_ids:
        for channel_id, opened_at, resolved_at in Incident.objects.filter(
            channel_id__in=channel_ids,
            resolved_at__gte=day_start(period.first),
            resolved_at__lt=day_start(period.last + timedelta(days=1)),
        ).values_list("channel_id", "opened_at", "resolved_at"):
            if resolved_at is not None:
                out[channel_id] += max(0, int((resolved_at - opened_at).total_seconds()))
    return dict(out)


def _top(rows: list[dict[str, Any]], key: str, least: int, order: str) -> list[dict[str, Any]]:
    """The rows with `key` at least `least`, the largest `opened` first (then `order`), `TOP`."""
    picked = [r for r in rows if r[key] >= least]
    return sorted(picked, key=lambda r: (-r["opened"], r[order]))[:TOP]


def _audit_findings(scope: Scope, period: Period) -> list[dict[str, Any]]:
    """The merchants whose audited failed share is high over the period (see the module), in
    two queries: the lines, and the merchants' codes."""
    lines = AuditLine.objects.filter(audit__day__gte=period.first, audit__day__lte=period.last)
    if scope.merchant is not None:
        lines = lines.filter(merchant_id=scope.merchant.pk)
    rows: dict[int, list[tuple[bool, float]]] = defaultdict(list)
    stands_for: dict[int, float] = defaultdict(float)
    items: dict[int, Counter[str]] = defaultdict(Counter)
    for merchant_id, status, inclusion, decided in lines.values_list(
        "merchant_id", "status", "inclusion", "items"
    ).order_by("pk"):
        if inclusion <= 0:
            continue
        stands_for[merchant_id] += 1 / inclusion
        if status == LineStatus.PENDING:
            continue
        rows[merchant_id].append((status == LineStatus.FAILED, inclusion))
        for item, result in (decided or {}).items():
            if isinstance(result, dict) and result.get("result") == "fail":
                items[merchant_id][item] += 1
    found: list[tuple[int, float, float, float, int, int]] = []
    for merchant_id, checked in rows.items():
        e = estimate(checked, weighted=True)
        if e.share is not None and e.low is not None and e.high is not None and e.low >= AUDIT_MIN_SHARE:
            found.append((merchant_id, e.share, e.low, e.high, e.checked, e.failed))
    codes = (
        dict(Merchant.objects.filter(pk__in=[f[0] for f in found]).values_list("pk", "code")) if found else {}
    )
    out: list[dict[str, Any]] = []
    for merchant_id, share, low, high, n_checked, n_failed in found:
        failed_items = items[merchant_id]
        out.append(
            {
                "kind": "audit_failures",
                "subject": codes[merchant_id],
                "merchant": codes[merchant_id],
                "affected": round(share * stands_for[merchant_id]),
                "checked": n_checked,
                "failed": n_failed,
                "share": round(100 * share, 1),
                "low": round(100 * low, 1),
                "high": round(100 * high, 1),
                "items": dict(sorted(failed_items.items(), key=lambda kv: (-kv[1], kv[0]))),
            }
        )
    out.sort(key=lambda f: (-int(f["affected"]), str(f["subject"])))
    return out[:TOP]


def findings_build(
    *, scope: Scope, period: Period, sums: PeriodSums | None = None, audits: bool = False
) -> list[dict[str, Any]]:
    """The findings of the period, the most orders affected first (see the module). `sums`:
    the period's `selectors.period_sums`, shared with the report when the caller builds both;
    a channel's and a province's rows are read from them (a channel belongs to one merchant,
    so the warehouse's rows of a channel are its merchant's). `audits`: with the audits'
    findings (staff only)."""
    if sums is None:
        sums = period_sums(scope, period)
    lead = settings.OG_REPLENISH_LEAD_DAYS
    level = settings.OG_SERVICE_LEVEL
    findings: list[dict[str, Any]] = []

    skus = [
        {**r, "affected": r["opened"]}
        for r in _top(sums.of(Dim.SKU, ExceptionType.OUT_OF_STOCK), "days", RECUR_DAYS, "key")
    ]
    merchants = {m.pk: m for m in Merchant.objects.filter(pk__in={r["merchant_id"] for r in skus})}
    current = {
        (merchant_id, code): total
        for merchant_id, code, total in StockLevel.objects.filter(
            merchant_id__in=list(merchants), sku__code__in=[r["key"] for r in skus]
        )
        .values("merchant_id", "sku__code")
        .annotate(total=Sum("safety_stock"))
        .values_list("merchant_id", "sku__code", "total")
    }
    known = set(
        Sku.objects.filter(merchant_id__in=list(merchants), code__in=[r["key"] for r in skus]).values_list(
            "merchant_id", "code"
        )
    )
    demand = _daily_demand([(r["merchant_id"], r["key"]) for r in skus], period)
    for r in skus:
        advice = safety_stock(daily=demand[(r["merchant_id"], r["key"])], lead_days=lead, service_level=level)
        findings.append(
            {
                "kind": "sku_stockouts",
                "subject": r["key"],
                "merchant": merchants[r["merchant_id"]].code,
                "affected": r["affected"],
                "days": r["days"],
                "known_sku": (r["merchant_id"], r["key"]) in known,
                "current_safety_stock": current.get((r["merchant_id"], r["key"])),
                "advice": advice,
            }
        )

    faults = [
        {**r, "affected": r["opened"], "open_seconds": r["handling_seconds"]}
        for r in _top(sums.of(Dim.CHANNEL, ExceptionType.SYSTEM_FAULT), "days", RECUR_DAYS, "key")
    ]
    channels = {
        str(c.pk): c
        for c in Channel.objects.filter(pk__in=[int(r["key"]) for r in faults]).select_related("merchant")
    }
    outages = _incident_seconds([int(k) for k in channels], period)
    for r in faults:
        c = channels.get(r["key"])
        if c is None:
            continue
        findings.append(
            {
                "kind": "channel_faults",
                "subject": c.code,
                "merchant": c.merchant.code,
                "platform": c.platform,
                "affected": r["affected"],
                "days": r["days"],
                "outage_minutes": round(outages.get(c.pk, r["open_seconds"] or 0) / 60),
            }
        )

    for r in _top(sums.of(Dim.PROVINCE, ExceptionType.RECIPIENT_ERROR), "opened", MIN_ADDRESS_ERRORS, "key"):
        findings.append(
            {"kind": "area_address_errors", "subject": r["key"], "merchant": None, "affected": r["opened"]}
        )
    if scope.merchant is None:
        by_merchant = _top(
            [r for r in sums.by_merchant if r["case_type"] == ExceptionType.RECIPIENT_ERROR],
            "opened",
            MIN_ADDRESS_ERRORS,
            "merchant_id",
        )
        names = {
            m.pk: m.code for m in Merchant.objects.filter(pk__in=[r["merchant_id"] for r in by_merchant])
        }
        for r in by_merchant:
            code = names[r["merchant_id"]]
            findings.append(
                {
                    "kind": "merchant_address_errors",
                    "subject": code,
                    "merchant": code,
                    "affected": r["opened"],
                }
            )
    if audits:
        findings.extend(_audit_findings(scope, period))
    findings.sort(key=lambda f: (-f["affected"], f["kind"], str(f["subject"])))
    return findings
