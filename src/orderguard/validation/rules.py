"""Rules as configuration: a merchant's severity per finding code, and the dry run of a change.

Every code of `validation.checks.RULES` has a default severity; a merchant may make a rule
blocking, a warning only, or turn it off (`RuleOverride`). Two kinds of rule are not
configurable (`FIXED_CODES`): the stock codes, decided by allocation rather than by the import
checks, and the codes that leave an order line without a SKU (missing, unknown, inactive,
mismatched or ambiguous product): a line nobody can pick must hold its order.

The import reads a merchant's overrides once per import (`rule_overrides_for`, one query) and
`check_order` applies them. `rules_dry_run` replays a proposed change over the merchant's
recent orders from their stored data, in batches, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction

from orderguard.catalog.selectors import catalog_records_for_matching
from orderguard.core.choices import ExceptionType, Severity
from orderguard.inventory import findings as stock_checks
from orderguard.orders.models import Order, OrderLine
from orderguard.orders.schema import AddressIn, LineIn, OrderIn, PlatformState
from orderguard.validation import product as product_checks
from orderguard.validation.checks import RULES, check_order
from orderguard.validation.models import RuleOverride, RuleSetting
from orderguard.validation.product import CatalogIndex, SkuRecord

FIXED_CODES: frozenset[str] = frozenset(
    {
        stock_checks.STOCK_SHORT,
        stock_checks.STOCK_LOW,
        product_checks.SKU_MISSING,
        product_checks.SKU_UNKNOWN,
        product_checks.SKU_INACTIVE,
        product_checks.SKU_ATTRIBUTES_MISMATCH,
        product_checks.SKU_VARIANT_NOT_STOCKED,
        product_checks.SKU_VARIANT_AMBIGUOUS,
        product_checks.BUNDLE_COMPONENT_INACTIVE,
    }
)
# "default" in a change removes the merchant's override.
DEFAULT = "default"
SETTINGS: tuple[str, ...] = (*RuleSetting.values, DEFAULT)
DRY_RUN_BATCH = 500
DRY_RUN_SAMPLE = 20
MAX_DRY_RUN_DAYS = 90


class RuleChangeRefused(Exception):
    """A change names a code that is not a rule (``RULE_UNKNOWN``), one that may not be changed
    (``RULE_NOT_CONFIGURABLE``) or a severity that does not exist (``SEVERITY_INVALID``)."""

    def __init__(self, *, code: str, rule: str, value: str = "") -> None:
        super().__init__(f"{code}: {rule}")
        self.code, self.rule, self.value = code, rule, value


@dataclass(frozen=True, slots=True)
class EffectiveRule:
    code: str
    type: ExceptionType
    default: Severity
    severity: str  # blocking, warning or off
    overridden: bool
    configurable: bool


def _check_change(rule: str, severity: str) -> None:
    if rule not in RULES:
        raise RuleChangeRefused(code="RULE_UNKNOWN", rule=rule)
    if rule in FIXED_CODES:
        raise RuleChangeRefused(code="RULE_NOT_CONFIGURABLE", rule=rule)
    if severity not in SETTINGS:
        raise RuleChangeRefused(code="SEVERITY_INVALID", rule=rule, value=severity)


def rule_overrides_for(*, merchant_id: int) -> dict[str, str]:
    """The merchant's overrides, code → ``blocking``/``warning``/``off`` (one query)."""
    return dict(RuleOverride.objects.filter(merchant_id=merchant_id).values_list("code", "severity"))


def rules_effective(*, merchant_id: int | None) -> list[EffectiveRule]:
    """Every rule with the severity that applies to the merchant (the defaults for None), in
    the order of `RULES`. An override of a code no longer in `RULES` is ignored."""
    overrides = rule_overrides_for(merchant_id=merchant_id) if merchant_id is not None else {}
    return [
        EffectiveRule(
            code=code,
            type=rule.type,
            default=rule.severity,
            severity=overrides.get(code, str(rule.severity)),
            overridden=code in overrides,
            configurable=code not in FIXED_CODES,
        )
        for code, rule in RULES.items()
    ]


@transaction.atomic
def rules_set(*, merchant_id: int, severities: Mapping[str, str], actor_label: str) -> list[EffectiveRule]:
    """Set the merchant's severity for each code of `severities` (``default`` removes the
    override, as does the rule's own default). All or nothing: every change is checked first,
    and `RuleChangeRefused` for the first bad one leaves every override as it was."""
    for code, severity in severities.items():
        _check_change(code, severity)
    for code, severity in severities.items():
        if severity in (DEFAULT, str(RULES[code].severity)):
            RuleOverride.objects.filter(merchant_id=merchant_id, code=code).delete()
        else:
            RuleOverride.objects.update_or_create(
                merchant_id=merchant_id,
                code=code,
                defaults={"severity": severity, "changed_by": actor_label[:150]},
            )
    return rules_effective(merchant_id=merchant_id)


@dataclass
class DryRunReport:
    """What a rule change would have done to the merchant's orders paid in the last `days`.

    Counts are of orders; each list holds up to `DRY_RUN_SAMPLE` order ids, oldest payment first.
    `newly_flagged`/`no_longer_flagged`: the rule's finding appears/disappears (turned on/off);
    `newly_blocking`/`no_longer_blocking`: the finding holds the order now/no more;
    `would_hold`/`would_release`: orders ready to ship whose hold changes as a whole (no other
    blocking finding keeps them held).
    """

    code: str
    current: str
    proposed: str
    days: int
    orders_checked: int = 0
    orders_with_finding: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[int]] = field(default_factory=dict)

    def add(self, outcome: str, order_id: int) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        sample = self.samples.setdefault(outcome, [])
        if len(sample) < DRY_RUN_SAMPLE:
            sample.append(order_id)


DRY_RUN_OUTCOMES = (
    "newly_flagged",
    "no_longer_flagged",
    "newly_blocking",
    "no_longer_blocking",
    "would_hold",
    "would_release",
)


def stored_order_in(order: Order, lines: list[OrderLine]) -> OrderIn:
    """The order as the import checked it, from what was stored."""
    a = order.address_received or {}
    return OrderIn(
        platform_order_id=order.platform_order_id,
        platform_status=order.platform_status,
        state=PlatformState(order.platform_state),
        created_at=order.placed_at,
        paid_at=order.paid_at,
        recipient_name=order.recipient_name,
        recipient_phone=order.recipient_phone,
        phone_expires_at=order.phone_expires_at,
        address=AddressIn(**{key: str(a.get(key) or "") for key in AddressIn.__dataclass_fields__}),
        buyer_note=order.buyer_note,
        seller_note=order.seller_note,
        requested_courier=order.requested_courier,
        service_level=order.service_level,
        lines=[
            LineIn(
                sku_code=li.sku_code,
                quantity=li.quantity,
                title=li.title,
                attributes=li.attributes or {},
                platform_line_id=li.platform_line_id,
            )
            for li in lines
        ],
        extra=order.extra or {},
    )


def _orders_in_batches(*, merchant_id: int, since: datetime) -> Iterator[list[tuple[Order, list[OrderLine]]]]:
    qs = Order.objects.filter(merchant_id=merchant_id, paid_at__gte=since, anonymised_at__isnull=True)
    last = 0
    while True:
        orders = list(qs.filter(pk__gt=last).order_by("pk")[:DRY_RUN_BATCH])
        if not orders:
            return
        lines: dict[int, list[OrderLine]] = {}
        for line in OrderLine.objects.filter(order__in=[o.pk for o in orders]).order_by(
            "order_id", "line_no"
        ):
            lines.setdefault(line.order_id, []).append(line)
        yield [(o, lines.get(o.pk, [])) for o in orders]
        last = orders[-1].pk


def rules_dry_run(*, merchant_id: int, code: str, severity: str, days: int, now: datetime) -> DryRunReport:
    """Replay the merchant's orders paid in the last `days` (not anonymised) through the checks
    with `code` at `severity` instead of its current setting, against today's catalogue, and
    say what would change (`DryRunReport`). Writes nothing. Raises `RuleChangeRefused` as
    `rules_set` does; `ValueError` for `days` outside 1..`MAX_DRY_RUN_DAYS`."""
    _check_change(code, severity)
    if not 1 <= days <= MAX_DRY_RUN_DAYS:
        raise ValueError(days)
    overrides = rule_overrides_for(merchant_id=merchant_id)
    default = str(RULES[code].severity)
    current = overrides.get(code, default)
    proposed = default if severity == DEFAULT else severity
    report = DryRunReport(code=code, current=current, proposed=proposed, days=days)
    # the rule under study is checked at its default, then read at both settings
    others = {k: v for k, v in overrides.items() if k != code}
    catalog = CatalogIndex.build(
        SkuRecord(**fields) for fields in catalog_records_for_matching(merchant_id=merchant_id)
    )
    for batch in _orders_in_batches(merchant_id=merchant_id, since=now - timedelta(days=days)):
        for order, lines in batch:
            report.orders_checked += 1
            findings = check_order(
                stored_order_in(order, lines), catalog=catalog, now=now, severity_overrides=others
            )
            if not any(f.code == code for f in findings.findings):
                continue
            report.orders_with_finding += 1
            flagged = (current != RuleSetting.OFF, proposed != RuleSetting.OFF)
            blocking = (current == RuleSetting.BLOCKING, proposed == RuleSetting.BLOCKING)
            if flagged == (False, True):
                report.add("newly_flagged", order.pk)
            elif flagged == (True, False):
                report.add("no_longer_flagged", order.pk)
            if blocking == (False, True):
                report.add("newly_blocking", order.pk)
            elif blocking == (True, False):
                report.add("no_longer_blocking", order.pk)
            if order.platform_state != PlatformState.READY or blocking[0] == blocking[1]:
                continue
            stock_blocking = any(
                f.get("code") in FIXED_CODES and f.get("severity") == Severity.BLOCKING
                for f in order.findings
            )
            held_otherwise = stock_blocking or any(f.blocking and f.code != code for f in findings.findings)
            if not held_otherwise:
                report.add("would_hold" if blocking[1] else "would_release", order.pk)
    return report
