"""The weekly and monthly analysis (S3), read from the daily rollups (`DailyStat`) only.

Definitions (shown on the page and in the exports):
- share of a type or source: its cases opened in the period over all cases opened in it;
  trend: the change against the period of equal length just before;
- handling time: from a case's opening to its closing, over the closings in the period (a case
  reopened and closed again counts from its first opening); mean exact, median and 90th
  percentile estimated from log-scale buckets (`analysis.histogram`, within about 9%); in
  clock time, and in working time (`analysis.rollup`: the working calendar of the warehouse of
  the order's channel);
- success rate: closings with the outcome "succeeded" over all closings (succeeded, failed,
  cancelled) in the period;
- deadline compliance per step: of the steps of the cases closed in the period, the share
  finished in time (no "overdue" alert of the deadline scan for the step, and the last step
  closed before its deadline);
- time per step: from the step's start (the opening, a reopening, or the ``step_started``
  event of a move to it) to the next step's start or the closing, summed when a case enters a
  step twice, over the closings in the period (of the stretch since the last opening or
  reopening); mean, median and 90th percentile as for the handling time, in clock and working
  time.

Merchant users see their own merchant's report only (`ReportRefused` for another's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet, Sum

from orderguard.analysis import histogram
from orderguard.analysis.choices import Dim
from orderguard.analysis.models import DailyStat
from orderguard.analysis.periods import Period
from orderguard.analysis.rollup import rollup_state
from orderguard.core.choices import DetectionSource, ExceptionType
from orderguard.core.errors import DomainError, NotFound
from orderguard.orders.choices import Platform
from orderguard.orders.models import Channel
from orderguard.sla.steps import step_rank, step_text
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Merchant

# How many rows a breakdown lists (the most cases first); the exports list them all.
TOP = 20
SUMS = ("opened", "closed", "succeeded", "failed", "cancelled", "handling_seconds")


class ReportRefused(DomainError):
    """A merchant user asked for another merchant's report."""

    code = "REPORT_OTHER_MERCHANT"


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose cases a report counts: one merchant, or the whole warehouse (None)."""

    merchant: Merchant | None


def report_scope(*, actor: Actor, merchant_code: str = "") -> Scope:
    """The merchant a report is about. A merchant user gets its own (asking for another
    merchant's code: `ReportRefused`); staff get the merchant of `merchant_code` (unknown:
    `NotFound`) or the whole warehouse."""
    code = merchant_code.strip()
    if actor.merchant_id is not None:
        own = Merchant.objects.get(pk=actor.merchant_id)
        if code and code != own.code:
            raise ReportRefused("another merchant's report", merchant=code[:50])
        return Scope(merchant=own)
    if not code:
        return Scope(merchant=None)
    merchant = Merchant.objects.filter(code=code).first()
    if merchant is None:
        raise NotFound("no such merchant", model="Merchant", code=code[:50])
    return Scope(merchant=merchant)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else round(100 * (now - before) / before, 1)


def _mean(total: int, count: int) -> int | None:
    return None if count == 0 else round(total / count)


def _rows(scope: Scope, period: Period) -> QuerySet[DailyStat]:
    """The scope's rows of the period: one merchant's, or the warehouse's sums (merchant None)."""
    qs = DailyStat.objects.filter(day__gte=period.first, day__lte=period.last)
    if scope.merchant is not None:
        return qs.filter(merchant_id=scope.merchant.pk)
    return qs.filter(merchant__isnull=True)


def _figures(sums: dict[str, int]) -> dict[str, Any]:
    """Counts, success rate and mean handling time of summed rows."""
    closed = sums.get("closed", 0) or 0
    return {
        "opened": sums.get("opened", 0) or 0,
        "closed": closed,
        "succeeded": sums.get("succeeded", 0) or 0,
        "failed": sums.get("failed", 0) or 0,
        "cancelled": sums.get("cancelled", 0) or 0,
        "success_rate": _rate(sums.get("succeeded", 0) or 0, closed),
        "handling_mean": _mean(sums.get("handling_seconds", 0) or 0, closed),
    }


# the dimensions of the breakdowns and findings, summed in one query per period
GROUPED = (Dim.CHANNEL, Dim.PROVINCE, Dim.SKU, Dim.ASSIGNEE)


@dataclass(frozen=True, slots=True)
class PeriodSums:
    """The period's rollups summed once, for the report's breakdowns and the findings both:
    `by_dim` one row per dimension (channel, province, SKU, person), key and type with the
    counts, handling seconds and `days` (the days with a case opened); the SKUs' rows per
    merchant (`merchant_id`; the warehouse's SKU row is their sum), the others the scope's;
    `by_merchant` one row per merchant and type (the whole warehouse's report only, else
    empty)."""

    by_dim: list[dict[str, Any]]
    by_merchant: list[dict[str, Any]]

    def of(self, dim: str, case_type: str | None = None) -> list[dict[str, Any]]:
        """The rows of one dimension (and type), by key."""
        return [
            r for r in self.by_dim if r["dim"] == dim and (case_type is None or r["case_type"] == case_type)
        ]


def period_sums(scope: Scope, period: Period, *, for_findings: bool = True) -> PeriodSums:
    """Two queries whatever the number of cases (see `PeriodSums`). Without `for_findings`
    (the report alone) the rows are added up per dimension and key only: no type, no days, and
    the whole warehouse's SKU rows as they are (`case_type` None, `days` 0)."""
    in_period = DailyStat.objects.filter(day__gte=period.first, day__lte=period.last)
    mine = in_period.filter(
        **({"merchant_id": scope.merchant.pk} if scope.merchant is not None else {"merchant__isnull": True})
    )
    by_dim: list[dict[str, Any]]
    if not for_findings:
        by_dim = list(
            mine.filter(dim__in=GROUPED).values("dim", "key").annotate(**{f: Sum(f) for f in SUMS}).order_by()
        )
        for r in by_dim:
            r.update(case_type=None, days=0, merchant_id=scope.merchant.pk if scope.merchant else None)
    else:
        # `days` first: its filter reads the column `opened`, not the sum named alike
        annotations: dict[str, Any] = {"days": Count("day", filter=Q(opened__gt=0))}
        annotations.update({f: Sum(f) for f in SUMS})
        others = [d for d in GROUPED if d != Dim.SKU]
        if scope.merchant is not None:
            rows = mine.filter(dim__in=GROUPED)
        else:
            rows = in_period.filter(
                Q(merchant__isnull=True, dim__in=others) | Q(merchant__isnull=False, dim=Dim.SKU)
            )
        by_dim = list(
            rows.values("merchant_id", "dim", "key", "case_type").annotate(**annotations).order_by()
        )
    by_merchant: list[dict[str, Any]] = []
    if scope.merchant is None:
        by_merchant = list(
            in_period.filter(dim=Dim.TOTAL, merchant__isnull=False)
            .values("merchant_id", "case_type")
            .annotate(**{f: Sum(f) for f in SUMS})
            .order_by()
        )
    for r in (*by_dim, *by_merchant):
        for f in SUMS:
            r[f] = r[f] or 0
    return PeriodSums(by_dim=by_dim, by_merchant=by_merchant)


def _over_types(rows: Iterable[dict[str, Any]], group: str = "key") -> list[dict[str, Any]]:
    """Rows of several types added up per `group`, in its order."""
    out: dict[Any, dict[str, Any]] = {}
    for r in rows:
        acc = out.get(r[group])
        if acc is None:
            acc = out[r[group]] = {group: r[group], **{f: 0 for f in SUMS}}
        for f in SUMS:
            acc[f] += r[f]
    return [out[k] for k in sorted(out)]


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["opened"], -r["closed"], str(r.get("key", ""))))


def report_build(
    *, scope: Scope, period: Period, actor: Actor, sums: PeriodSums | None = None
) -> dict[str, Any]:
    """The report of `scope` over `period` (see the module's docstring for every figure), as
    plain data for the page, the API and the exports. A fixed number of queries whatever the
    number of cases: the rollups' rows of the period and of the one before. `sums`: the
    period's `period_sums`, when the caller also builds the findings from them."""
    if sums is None:
        sums = period_sums(scope, period, for_findings=False)
    previous = period.previous()
    current = _rows(scope, period)
    # the totals of each merchant, type and day, with the histograms
    totals = list(
        current.filter(dim=Dim.TOTAL).values_list(
            "merchant_id",
            "day",
            "case_type",
            "opened",
            "closed",
            "succeeded",
            "failed",
            "cancelled",
            "reopened",
            "handling_seconds",
            "working_seconds",
            "handling_hist",
            "working_hist",
        )
    )
    before_by_type: dict[str, int] = defaultdict(int)
    before_by_day: dict[date, int] = defaultdict(int)
    for day, case_type, n in (
        _rows(scope, previous)
        .filter(dim=Dim.TOTAL)
        .values("day", "case_type")
        .annotate(n=Sum("opened"))
        .values_list("day", "case_type", "n")
    ):
        before_by_type[case_type] += n or 0
        before_by_day[day] += n or 0
    types: dict[str, dict[str, Any]] = {
        t: {"sums": defaultdict(int), "hist": {}, "whist": {}} for t in ExceptionType.values
    }
    trend: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for _merchant_id, day, t, opened, closed, ok, failed, cancelled, reopened, hs, ws, hh, wh in totals:
        s = types[t]["sums"]
        for name, v in (
            ("opened", opened),
            ("closed", closed),
            ("succeeded", ok),
            ("failed", failed),
            ("cancelled", cancelled),
            ("reopened", reopened),
            ("handling_seconds", hs),
            ("working_seconds", ws),
        ):
            s[name] += v
        histogram.merge_into(types[t]["hist"], hh)
        histogram.merge_into(types[t]["whist"], wh)
        trend[t][day] += opened
    opened_total = sum(v["sums"]["opened"] for v in types.values())
    before_total = sum(before_by_type.values())
    all_sums: dict[str, int] = defaultdict(int)
    type_rows = []
    for t, label in ExceptionType.choices:
        s = types[t]["sums"]
        for k, v in s.items():
            all_sums[k] += v
        figures = _figures(s)
        type_rows.append(
            {
                "type": t,
                "label": str(label),
                **figures,
                "share": _rate(s["opened"], opened_total),
                "previous_opened": before_by_type.get(t, 0) or 0,
                "previous_share": _rate(before_by_type.get(t, 0) or 0, before_total),
                "change": _change(s["opened"], before_by_type.get(t, 0) or 0),
                "reopened": s["reopened"],
                "handling": {
                    "mean": figures["handling_mean"],
                    "median": histogram.quantile(types[t]["hist"], 0.5),
                    "p90": histogram.quantile(types[t]["hist"], 0.9),
                },
                "working": {
                    "mean": _mean(s["working_seconds"], s["closed"]),
                    "median": histogram.quantile(types[t]["whist"], 0.5),
                    "p90": histogram.quantile(types[t]["whist"], 0.9),
                },
            }
        )
    total_figures = _figures(all_sums)

    # sources, with the previous period's
    src_now: dict[str, dict[str, int]] = {}
    src_before: dict[str, int] = {}
    for key, now, before in (
        DailyStat.objects.filter(
            day__gte=previous.first,
            day__lte=period.last,
            dim=Dim.SOURCE,
            **({"merchant_id": scope.merchant.pk} if scope.merchant else {"merchant__isnull": True}),
        )
        .values("key")
        .annotate(
            now=Sum("opened", filter=Q(day__gte=period.first)),
            before=Sum("opened", filter=Q(day__lte=previous.last)),
        )
        .values_list("key", "now", "before")
    ):
        src_now[key] = {"opened": now or 0}
        src_before[key] = before or 0
    sources = [
        {
            "source": code,
            "label": str(label),
            "opened": (src_now.get(code) or {}).get("opened") or 0,
            "share": _rate((src_now.get(code) or {}).get("opened") or 0, opened_total),
            "previous_opened": src_before.get(code, 0),
            "change": _change((src_now.get(code) or {}).get("opened") or 0, src_before.get(code, 0)),
        }
        for code, label in DetectionSource.choices
    ]

    steps = _step_rows(current)

    merchants_rows: list[dict[str, Any]] = []
    if scope.merchant is None:
        by_merchant = _over_types(sums.by_merchant, "merchant_id")
        names = {m.pk: m for m in Merchant.objects.filter(pk__in=[r["merchant_id"] for r in by_merchant])}
        merchants_rows = _ranked(
            [
                {"key": names[r["merchant_id"]].code, "name": names[r["merchant_id"]].name, **_figures(r)}
                for r in by_merchant
                if r["merchant_id"] in names
            ]
        )

    channel_sums = _over_types(sums.of(Dim.CHANNEL))
    channels = {
        str(c.pk): c
        for c in Channel.objects.filter(pk__in=[int(r["key"]) for r in channel_sums if r["key"].isdigit()])
    }
    channel_rows = _ranked(
        [
            {
                "key": channels[r["key"]].code,
                "name": channels[r["key"]].name,
                "platform": channels[r["key"]].platform,
                "platform_label": str(Platform(channels[r["key"]].platform).label)
                if channels[r["key"]].platform in Platform.values
                else channels[r["key"]].platform,
                **_figures(r),
            }
            for r in channel_sums
            if r["key"] in channels
        ]
    )
    platforms: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in channel_sums:
        c = channels.get(r["key"])
        if c is not None:
            for f in SUMS:
                platforms[c.platform][f] += r[f] or 0
    platform_rows = _ranked(
        [
            {"key": p, "name": str(Platform(p).label) if p in Platform.values else p, **_figures(s)}
            for p, s in platforms.items()
        ]
    )
    province_rows = _ranked(
        [{"key": r["key"], "name": r["key"], **_figures(r)} for r in _over_types(sums.of(Dim.PROVINCE))]
    )
    sku_rows = _ranked(
        [{"key": r["key"], "name": r["key"], **_figures(r)} for r in _over_types(sums.of(Dim.SKU))]
    )
    people_rows: list[dict[str, Any]] = []
    if actor.is_staff_role:
        people_sums = _over_types(sums.of(Dim.ASSIGNEE))
        users = dict(
            User.objects.filter(
                pk__in=[int(r["key"]) for r in people_sums if r["key"].isdigit()]
            ).values_list("pk", "username")
        )
        people_rows = _ranked(
            [
                {
                    "key": users.get(int(r["key"]), r["key"]) if r["key"] else "",
                    "name": users.get(int(r["key"]), r["key"]) if r["key"] else "",
                    **_figures(r),
                }
                for r in people_sums
            ]
        )
    days = period.each_day()
    before_days = previous.each_day()
    state = rollup_state()
    return {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat(), "days": period.days},
        "previous": {
            "from": previous.first.isoformat(),
            "to": previous.last.isoformat(),
            "days": previous.days,
        },
        "merchant": None
        if scope.merchant is None
        else {"code": scope.merchant.code, "name": scope.merchant.name},
        "rollup_ran_at": state.ran_at.isoformat() if state and state.ran_at else None,
        "totals": {
            **total_figures,
            "reopened": all_sums["reopened"],
            "previous_opened": before_total,
            "change": _change(opened_total, before_total),
        },
        "types": type_rows,
        "sources": sources,
        "steps": steps,
        "trend": {
            "days": [d.isoformat() for d in days],
            "series": {t: [trend[t].get(d, 0) for d in days] for t in ExceptionType.values},
            "previous_total": [before_by_day.get(d, 0) or 0 for d in before_days],
        },
        "breakdowns": {
            "merchant": merchants_rows,
            "platform": platform_rows,
            "channel": channel_rows,
            "sku": sku_rows,
            "province": province_rows,
            "person": people_rows,
        },
    }


STEP_SUMS = ("steps_closed", "steps_late", "overdue", "escalated", "handling_seconds", "working_seconds")


def _step_rows(current: QuerySet[DailyStat]) -> list[dict[str, Any]]:
    """Per type and step, the steps in the order a case meets them: deadline compliance,
    alerts, and the time spent in the step (clock and working time; its mean over the closings
    whose step times are known, the histograms' count)."""
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    for case_type, key, *numbers, hist, whist in current.filter(dim=Dim.STEP).values_list(
        "case_type", "key", *STEP_SUMS, "handling_hist", "working_hist"
    ):
        a = acc.get((case_type, key))
        if a is None:
            a = acc[(case_type, key)] = {f: 0 for f in STEP_SUMS} | {"hist": {}, "whist": {}}
        for f, v in zip(STEP_SUMS, numbers, strict=True):
            a[f] += v or 0
        histogram.merge_into(a["hist"], hist)
        histogram.merge_into(a["whist"], whist)
    rows = []
    for (case_type, key), a in sorted(acc.items(), key=lambda kv: (kv[0][0], step_rank(kv[0][1]))):
        closed, late = a["steps_closed"], a["steps_late"]
        timed = sum(a["hist"].values())
        rows.append(
            {
                "type": case_type,
                "type_label": str(ExceptionType(case_type).label),
                "step": key,
                "step_label": step_text(key),
                "closed": closed,
                "on_time": closed - late,
                "late": late,
                "on_time_share": _rate(closed - late, closed),
                "overdue_alerts": a["overdue"],
                "escalations": a["escalated"],
                "timed": timed,
                "handling": {
                    "mean": _mean(a["handling_seconds"], timed),
                    "median": histogram.quantile(a["hist"], 0.5),
                    "p90": histogram.quantile(a["hist"], 0.9),
                },
                "working": {
                    "mean": _mean(a["working_seconds"], timed),
                    "median": histogram.quantile(a["whist"], 0.5),
                    "p90": histogram.quantile(a["whist"], 0.9),
                },
            }
        )
    return rows


def report_is_empty(report: dict[str, Any]) -> bool:
    """Nothing opened, closed or flagged in the period."""
    t = report["totals"]
    return t["opened"] == 0 and t["closed"] == 0 and not report["steps"]
