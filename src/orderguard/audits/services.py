"""Daily sample audit writes (D4, B5): the plan, the draw (one audit per warehouse and day,
reproducible from its seed, weighted by risk), and a person's confirmation of a drawn order's
checklist, whose failed items open a case (source D4) or join the order's open one. Only orders
that will ship are drawn: cancelled and platform-closed ones are left out of the population."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q

from orderguard.audits.errors import AuditRefused
from orderguard.audits.models import DEFAULT_WEIGHTS, AuditLine, AuditPlan, DailyAudit, LineStatus
from orderguard.audits.sampling import draw, sample_size
from orderguard.cases import events
from orderguard.cases.models import ExceptionCase
from orderguard.cases.services import NOTE_MAX_LENGTH, case_open_or_join
from orderguard.catalog.models import Warehouse
from orderguard.core import bulk
from orderguard.core.choices import DetectionSource, ExceptionType, Severity
from orderguard.core.findings import Finding
from orderguard.inventory import findings as stock_checks
from orderguard.orders.choices import OrderStatus
from orderguard.orders.models import Order, OrderLine
from orderguard.orders.schema import PlatformState
from orderguard.sla.services import PolicyBook
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Role
from orderguard.validation.checks import check_order
from orderguard.validation.rules import rule_overrides_for, stored_order_in

# Who draws an audit by hand, and who confirms its checklists (tech on-call reads only).
DRAW_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
PLAN_ROLES = DRAW_ROLES
CONFIRM_ROLES = frozenset({Role.OPERATOR, Role.SERVICE_AGENT, Role.MANAGER, Role.ADMIN})

# The checklist of every drawn order and the type of case a failed item opens.
ITEMS: tuple[str, ...] = ("address", "recipient", "items")
ITEM_TYPES: Mapping[str, ExceptionType] = {
    "address": ExceptionType.RECIPIENT_ERROR,
    "recipient": ExceptionType.RECIPIENT_ERROR,
    "items": ExceptionType.PRODUCT_ERROR,
}
PASS, FAIL = "pass", "fail"
SYSTEM_ACTOR = "system:audit"
MAX_WEIGHT = 100.0
# stored allocation findings that say the items do not match the stock
_STOCK_CODES = frozenset({stock_checks.STOCK_SHORT, stock_checks.STOCK_BACKORDER})
# Orders that will never be packed, left out of the day's population: cancelled here (a
# platform order merged away as the copy of a manual order is cancelled too, see
# incidents.reconcile) or closed on the platform (never allocated stock). Intake's
# `order_is_closed` also counts shipped orders, which were packed and stay in.
NOT_SHIPPING = Q(status=OrderStatus.CANCELLED) | Q(platform_state=PlatformState.CLOSED)


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime) -> date:
    """The warehouse's calendar date of `moment` (TIME_ZONE)."""
    return moment.astimezone(_zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start and end (exclusive) of a local day, as aware datetimes."""
    zone = _zone()
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def plan_for(*, warehouse_id: int) -> AuditPlan:
    """The warehouse's plan, or an unsaved plan with the defaults."""
    return AuditPlan.objects.filter(warehouse_id=warehouse_id).first() or AuditPlan(warehouse_id=warehouse_id)


def _clean_weights(weights: Mapping[str, Any]) -> dict[str, float]:
    out = dict(DEFAULT_WEIGHTS)
    for key, value in weights.items():
        if key not in DEFAULT_WEIGHTS:
            raise AuditRefused(code="WEIGHT_INVALID", field=f"weights.{key}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise AuditRefused(code="WEIGHT_INVALID", field=f"weights.{key}") from None
        if not 0 <= number <= MAX_WEIGHT:
            raise AuditRefused(code="WEIGHT_INVALID", field=f"weights.{key}")
        out[key] = number
    return out


@transaction.atomic
def audit_plan_set(
    *,
    actor: Actor,
    warehouse_id: int,
    share_percent: Decimal | str | float,
    min_count: int,
    max_count: int,
    risk_weighting: bool,
    weights: Mapping[str, Any] | None = None,
) -> AuditPlan:
    """Set a warehouse's plan (managers, admins). Refused with nothing changed
    (`AuditRefused`): ``ROLE``, ``SHARE_INVALID`` (not a number, or outside 0–100),
    ``COUNT_INVALID`` (negative, or minimum above maximum), ``WEIGHT_INVALID``."""
    if actor.role not in PLAN_ROLES:
        raise AuditRefused(code="ROLE", role=actor.role)
    try:
        share = Decimal(str(share_percent))
    except InvalidOperation:
        raise AuditRefused(code="SHARE_INVALID", field="share_percent") from None
    if not share.is_finite() or not Decimal("0") <= share <= Decimal("100"):
        raise AuditRefused(code="SHARE_INVALID", field="share_percent")
    if min_count < 0 or max_count < 0 or min_count > max_count:
        raise AuditRefused(code="COUNT_INVALID", field="min_count" if min_count < 0 else "max_count")
    clean = _clean_weights(weights or {})
    warehouse = Warehouse.objects.get(pk=warehouse_id)
    plan, _created = AuditPlan.objects.update_or_create(
        warehouse=warehouse,
        defaults={
            "share_percent": share.quantize(Decimal("0.01")),
            "min_count": min_count,
            "max_count": max_count,
            "risk_weighting": risk_weighting,
            "weights": clean,
        },
    )
    return plan


@dataclass(frozen=True, slots=True)
class Risk:
    weight: float
    reasons: dict[str, float]


def _rate(hits: Mapping[Any, int], totals: Mapping[Any, int], key: Any) -> float:
    total = totals.get(key, 0)
    return min(1.0, hits.get(key, 0) / total) if total else 0.0


def risk_of(orders: list[Order], *, plan: AuditPlan, until: datetime) -> dict[int, Risk]:
    """B5: each order's weight, 1 + Σ weight × factor, and the factors behind it. A factor is
    the share of the orders paid in the `lookback_days` before `until` that had a case, for
    the order's merchant, channel, destination (province and city) and the worst of its SKUs;
    a merchant whose first order is at most `new_merchant_days` old counts 1 as new. A fixed
    number of queries, whatever the number of orders."""
    weights = {**DEFAULT_WEIGHTS, **(plan.weights or {})}
    since = until - timedelta(days=plan.lookback_days)
    merchants = {o.merchant_id for o in orders}
    window = Order.objects.filter(merchant_id__in=merchants, paid_at__gte=since, paid_at__lt=until)
    with_case = window.filter(cases__opened_at__gte=since, cases__opened_at__lt=until)

    def counted(qs: Any, *fields: str) -> dict[Any, int]:
        rows = qs.values(*fields).annotate(n=Count("pk", distinct=True)).values_list(*fields, "n")
        return {(r[:-1] if len(fields) > 1 else r[0]): r[-1] for r in rows}

    m_tot, m_hit = counted(window, "merchant_id"), counted(with_case, "merchant_id")
    c_tot, c_hit = counted(window, "channel_id"), counted(with_case, "channel_id")
    a_tot, a_hit = counted(window, "province", "city"), counted(with_case, "province", "city")
    lines = OrderLine.objects.filter(order__in=window)
    s_tot = {
        (m, code): n
        for m, code, n in lines.values("order__merchant_id", "sku_code")
        .annotate(n=Count("order", distinct=True))
        .values_list("order__merchant_id", "sku_code", "n")
    }
    s_hit = {
        (m, code): n
        for m, code, n in lines.filter(order__cases__opened_at__gte=since, order__cases__opened_at__lt=until)
        .values("order__merchant_id", "sku_code")
        .annotate(n=Count("order", distinct=True))
        .values_list("order__merchant_id", "sku_code", "n")
    }
    first = dict(
        Order.objects.filter(merchant_id__in=merchants)
        .values("merchant_id")
        .annotate(first=Min("paid_at"))
        .values_list("merchant_id", "first")
    )
    codes: dict[int, set[str]] = defaultdict(set)
    for order_id, code in OrderLine.objects.filter(order__in=[o.pk for o in orders]).values_list(
        "order_id", "sku_code"
    ):
        codes[order_id].add(code)
    new_after = until - timedelta(days=plan.new_merchant_days)
    out: dict[int, Risk] = {}
    for o in orders:
        factors = {
            "merchant": _rate(m_hit, m_tot, o.merchant_id),
            "sku": max((_rate(s_hit, s_tot, (o.merchant_id, c)) for c in codes.get(o.pk, ())), default=0.0),
            "channel": _rate(c_hit, c_tot, o.channel_id),
            "area": _rate(a_hit, a_tot, (o.province, o.city)),
            "new_merchant": 1.0 if first.get(o.merchant_id) and first[o.merchant_id] >= new_after else 0.0,
        }
        reasons = {k: round(v, 4) for k, v in factors.items() if v > 0}
        out[o.pk] = Risk(weight=1.0 + sum(weights[k] * v for k, v in factors.items()), reasons=reasons)
    return out


def _item_of(finding: Finding) -> str | None:
    if finding.type == ExceptionType.RECIPIENT_ERROR:
        return (
            "address"
            if finding.code.startswith("ADDRESS_") or finding.field.startswith("address")
            else "recipient"
        )
    if finding.type in (ExceptionType.PRODUCT_ERROR, ExceptionType.OUT_OF_STOCK):
        return "items"
    return None


def proposals_for(orders: list[Order], *, now: datetime) -> dict[int, dict[str, dict[str, Any]]]:
    """The checks run again on each order as stored, against today's catalogue and the
    merchant's rules, plus the allocation's stock findings: per checklist item a proposed
    ``pass``/``fail`` (fail on a blocking finding) and the finding codes behind it. One query
    for the lines, and per merchant one for its catalogue and one for its rules."""
    from orderguard.intake.services import catalog_index_for

    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order__in=[o.pk for o in orders]).order_by("order_id", "line_no"):
        lines[line.order_id].append(line)
    catalogs, overrides = {}, {}
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for o in orders:
        if o.merchant_id not in catalogs:
            catalogs[o.merchant_id] = catalog_index_for(merchant_id=o.merchant_id)
            overrides[o.merchant_id] = rule_overrides_for(merchant_id=o.merchant_id)
        result = check_order(
            stored_order_in(o, lines[o.pk]),
            catalog=catalogs[o.merchant_id],
            now=now,
            severity_overrides=overrides[o.merchant_id],
        )
        found = list(result.findings) + [
            Finding.from_dict(f) for f in (o.findings or []) if f.get("code") in _STOCK_CODES
        ]
        items: dict[str, dict[str, Any]] = {
            item: {"result": PASS, "codes": [], "warnings": []} for item in ITEMS
        }
        for f in found:
            item = _item_of(f)
            if item is None:
                continue
            if f.severity == Severity.BLOCKING:
                items[item]["result"] = FAIL
                items[item]["codes"].append(f.code)
            else:
                items[item]["warnings"].append(f.code)
        out[o.pk] = items
    return out


@dataclass(frozen=True, slots=True)
class DrawResult:
    audit: DailyAudit
    created: bool


def _plan_snapshot(plan: AuditPlan) -> dict[str, Any]:
    return {
        "share_percent": str(plan.share_percent),
        "min_count": plan.min_count,
        "max_count": plan.max_count,
        "risk_weighting": plan.risk_weighting,
        "weights": {**DEFAULT_WEIGHTS, **(plan.weights or {})},
        "lookback_days": plan.lookback_days,
        "new_merchant_days": plan.new_merchant_days,
    }


def audit_draw(
    *,
    warehouse_id: int,
    day: date,
    now: datetime,
    actor_label: str = SYSTEM_ACTOR,
    seed: int | None = None,
) -> DrawResult:
    """Draw the sample of the warehouse's orders paid on `day` (local date), once: an audit
    that exists is returned as it is (`created` False), so the daily job and a manager's
    "draw now" never draw twice. The population is the day's orders that will ship: cancelled
    and platform-closed ones (`NOT_SHIPPING`, as they stand at the draw) are neither drawn nor
    counted, so the sample size, the inclusion probabilities and the estimates built on them
    speak of shipping orders only. A day without such orders is recorded with 0 drawn. `seed`
    (random when not given) is stored; with the same orders it draws the same sample.
    ``DAY_INVALID`` for a day after today's."""
    existing = DailyAudit.objects.filter(warehouse_id=warehouse_id, day=day).first()
    if existing is not None:
        return DrawResult(existing, False)
    if day > local_day(now):
        raise AuditRefused(code="DAY_INVALID", field="day")
    plan = plan_for(warehouse_id=warehouse_id)
    start, end = day_bounds(day)
    orders = list(
        Order.objects.filter(channel__warehouse_id=warehouse_id, paid_at__gte=start, paid_at__lt=end)
        .exclude(NOT_SHIPPING)
        .order_by("pk")
    )
    n = sample_size(
        population=len(orders),
        share_percent=plan.share_percent,
        min_count=plan.min_count,
        max_count=plan.max_count,
    )
    risks = risk_of(orders, plan=plan, until=end) if plan.risk_weighting and orders else {}
    candidates = [(o.pk, risks[o.pk].weight if risks else 1.0) for o in orders]
    used_seed = seed if seed is not None else secrets.randbits(62)
    chosen = draw(candidates, n=n, seed=used_seed) if n else []
    by_id = {o.pk: o for o in orders}
    drawn_orders = [by_id[d.id] for d in chosen]
    proposals = proposals_for(drawn_orders, now=now) if drawn_orders else {}
    try:
        with transaction.atomic():
            audit = DailyAudit.objects.create(
                warehouse_id=warehouse_id,
                day=day,
                seed=used_seed,
                weighted=plan.risk_weighting,
                plan=_plan_snapshot(plan),
                population=len(orders),
                planned=n,
                drawn=len(chosen),
                weight_total=sum(w for _i, w in candidates),
                drawn_at=now,
                drawn_by_label=actor_label,
            )
            AuditLine.objects.bulk_create(
                [
                    AuditLine(
                        audit=audit,
                        order_id=d.id,
                        merchant_id=by_id[d.id].merchant_id,
                        rank=rank,
                        weight=d.weight,
                        inclusion=d.inclusion,
                        reasons=risks[d.id].reasons if risks else {},
                        proposal=proposals[d.id],
                    )
                    for rank, d in enumerate(chosen, start=1)
                ]
            )
    except IntegrityError:
        # drawn at the same moment by another worker: theirs stands
        return DrawResult(DailyAudit.objects.get(warehouse_id=warehouse_id, day=day), False)
    return DrawResult(audit, True)


def audits_draw_daily(*, now: datetime, day: date | None = None) -> list[DrawResult]:
    """The daily job: for every active warehouse, the audit of `day` (yesterday's local date
    by default, a whole day of orders). A second run draws nothing new."""
    wanted = day or local_day(now) - timedelta(days=1)
    inactive = set(AuditPlan.objects.filter(active=False).values_list("warehouse_id", flat=True))
    return [
        audit_draw(warehouse_id=w, day=wanted, now=now)
        for w in Warehouse.objects.filter(active=True).order_by("pk").values_list("pk", flat=True)
        if w not in inactive
    ]


def _clean_text(text: str, field: str) -> str:
    note = (text or "").strip()
    if len(note) > NOTE_MAX_LENGTH or any(
        (ord(ch) < 32 and ch not in "\n\r\t") or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in note
    ):
        raise AuditRefused(code="NOTE_INVALID", field=field)
    return note


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    line: AuditLine
    cases: list[tuple[ExceptionCase, bool]]  # (case, opened)


@transaction.atomic
def audit_line_confirm(
    *,
    line_id: int,
    actor: Actor,
    items: Mapping[str, Mapping[str, str]],
    now: datetime,
    note: str = "",
    policies: PolicyBook | None = None,
) -> ConfirmResult:
    """A person's decision on each checklist item of a drawn order: ``{"address": {"result":
    "pass"|"fail", "note": "…"}, …}`` for every item of `ITEMS`; a result other than the
    proposal needs a note. Failed items open a case of their type (address and recipient:
    T2, items: T3; source D4) or join the order's open case of that type, each with an
    ``audited`` CaseEvent, and are linked to the line.

    Refused with nothing written (`AuditRefused`): a merchant user or another role that does
    not audit: ``ROLE``; ``LINE_CONFIRMED``; ``ITEM_MISSING``, ``RESULT_INVALID``,
    ``NOTE_REQUIRED``, ``NOTE_INVALID`` naming ``items.<item>``. A missing line: NotFound.
    """
    from orderguard.core.errors import NotFound

    if not actor.is_staff_role:
        raise NotFound("not found", model="AuditLine", id=line_id)
    line = (
        AuditLine.objects.select_for_update(of=("self",))
        .select_related("audit", "order")
        .filter(pk=line_id)
        .first()
    )
    if line is None:
        raise NotFound("not found", model="AuditLine", id=line_id)
    if actor.role not in CONFIRM_ROLES:
        raise AuditRefused(code="ROLE", role=actor.role)
    if line.confirmed_at is not None:
        raise AuditRefused(code="LINE_CONFIRMED", line_id=line.pk)
    unknown = sorted(set(items) - set(ITEMS))
    if unknown:
        raise AuditRefused(code="ITEM_MISSING", field=f"items.{unknown[0]}")
    decided: dict[str, dict[str, str]] = {}
    for item in ITEMS:
        given = items.get(item)
        if not given or not given.get("result"):
            raise AuditRefused(code="ITEM_MISSING", field=f"items.{item}")
        result = given["result"]
        if result not in (PASS, FAIL):
            raise AuditRefused(code="RESULT_INVALID", field=f"items.{item}")
        text = _clean_text(given.get("note", ""), f"items.{item}")
        proposed = str(line.proposal.get(item, {}).get("result", PASS))
        if result != proposed and not text:
            raise AuditRefused(code="NOTE_REQUIRED", field=f"items.{item}")
        decided[item] = {"result": result, "note": text, "proposed": proposed}
    line_note = _clean_text(note, "note")
    failed = [item for item in ITEMS if decided[item]["result"] == FAIL]
    line.items = decided
    line.note = line_note
    line.status = LineStatus.FAILED if failed else LineStatus.PASSED
    line.confirmed_at = now
    line.confirmed_by_id = actor.user_id
    line.confirmed_by_label = actor.label
    line.save(update_fields=["items", "note", "status", "confirmed_at", "confirmed_by", "confirmed_by_label"])
    by_type: dict[ExceptionType, list[str]] = defaultdict(list)
    for item in failed:
        by_type[ITEM_TYPES[item]].append(item)
    book = policies or PolicyBook()
    touched: list[tuple[ExceptionCase, bool]] = []
    day = line.audit.day.isoformat()
    for case_type in sorted(by_type):
        found = [
            Finding(
                code="AUDIT_FAILED",
                type=case_type,
                field=item,
                source=DetectionSource.SAMPLE_AUDIT,
                data={"reason": item, "day": day, "audit": line.audit_id, "line": line.pk},
            )
            for item in by_type[case_type]
        ]
        joined = case_open_or_join(
            order=line.order,
            case_type=case_type,
            findings=found,
            now=now,
            actor_label=actor.label,
            actor_id=actor.user_id,
            policies=book,
        )
        bulk.insert(
            [
                events.audited(
                    joined.case,
                    at=now,
                    actor_label=actor.label,
                    actor_id=actor.user_id,
                    audit=line.audit_id,
                    line=line.pk,
                    day=day,
                    items={item: decided[item] for item in by_type[case_type]},
                    opened=joined.created,
                )
            ]
        )
        touched.append((joined.case, joined.created))
    if touched:
        line.cases.add(*[c for c, _o in touched])
    return ConfirmResult(line=line, cases=touched)
