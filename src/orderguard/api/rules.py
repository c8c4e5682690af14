"""Rules API: the checks' severities per merchant, changes to them, and the dry run of a change.

Warehouse staff read any merchant's rules (no merchant: the defaults); a merchant user reads
its own (another merchant's is "not found", like a missing one). Changing a rule and the dry
run are for managers and admins (others: 403 ``ROLE``), on any merchant.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from orderguard.api.auth import AUTH, actor
from orderguard.api.catalog import SLUG
from orderguard.api.errors import AUTHENTICATED, ApiError, reject_unknown_query, with_errors
from orderguard.core import clock
from orderguard.core.errors import NotFound
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Merchant, Role
from orderguard.validation.rules import (
    DRY_RUN_OUTCOMES,
    MAX_DRY_RUN_DAYS,
    RuleChangeRefused,
    rules_dry_run,
    rules_effective,
    rules_set,
)

router = Router(tags=["rules"], auth=AUTH)

# A body that is not JSON is a 400; a merchant not found (or not the caller's) a 404.
BODY_ERRORS = (*AUTHENTICATED, 400, 404)
# Who may change rules and run a dry run.
RULE_EDITORS = frozenset({Role.MANAGER, Role.ADMIN})

Setting = Literal["blocking", "warning", "off"]
Change = Literal["blocking", "warning", "off", "default"]
RuleCode = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Z][A-Z0-9_]*$")]
MerchantCode = Annotated[str, Field(min_length=1, max_length=50, pattern=SLUG)]


class RuleOut(Schema):
    code: str
    type: str = Field(description="The exception type the finding opens (T1..T5)")
    default: Literal["blocking", "warning"]
    severity: Setting = Field(description="What applies to the merchant")
    overridden: bool = Field(description="The merchant has its own setting")
    configurable: bool = Field(description="False for stock and order-line codes, which cannot be changed")


class RulesOut(Schema):
    merchant: str | None = Field(description="The merchant's code; null: the defaults")
    items: list[RuleOut]


class RulesFilters(Schema):
    merchant: str = Field("", max_length=50, pattern=SLUG, description="A merchant's code")


class RulesIn(Schema):
    merchant: MerchantCode
    severities: dict[RuleCode, Change] = Field(
        min_length=1,
        max_length=100,
        description='code → blocking, warning, off or "default" (the rule\'s own)',
    )


class DryRunIn(Schema):
    merchant: MerchantCode
    code: RuleCode
    severity: Change
    days: int = Field(30, ge=1, le=MAX_DRY_RUN_DAYS, description="Orders paid in the last N days")


class DryRunOut(Schema):
    merchant: str
    code: str
    current: Setting
    proposed: Setting
    days: int
    orders_checked: int
    orders_with_finding: int
    counts: dict[str, int] = Field(description=f"Orders per outcome: {', '.join(DRY_RUN_OUTCOMES)}")
    samples: dict[str, list[int]] = Field(description="Up to 20 order ids per outcome")


def _merchant(act: Actor, code: str) -> Merchant:
    qs = Merchant.objects.filter(code=code)
    if act.merchant_id is not None:
        # a merchant user sees only itself: another merchant is "not found" like a missing one
        qs = qs.filter(pk=act.merchant_id)
    merchant = qs.first()
    if merchant is None:
        raise NotFound("not found", model="Merchant", id=code)
    return merchant


def _editor(request: HttpRequest) -> Actor:
    act = actor(request)
    if act.role not in RULE_EDITORS:
        raise ApiError(403, "ROLE", _("只有仓库主管和管理员可以修改校验规则"))
    return act


def _refused(exc: RuleChangeRefused, field: str) -> ApiError:
    message = {
        "RULE_UNKNOWN": _("没有这条校验规则：%(rule)s"),
        "RULE_NOT_CONFIGURABLE": _("这条校验规则不能修改：%(rule)s"),
        "SEVERITY_INVALID": _("没有这个级别：%(value)s"),
    }[exc.code] % {"rule": exc.rule, "value": exc.value}
    return ApiError(422, exc.code, message, field)


def _rules(merchant: Merchant | None) -> dict[str, Any]:
    return {
        "merchant": merchant.code if merchant else None,
        "items": [
            {
                "code": r.code,
                "type": str(r.type.value),
                "default": str(r.default.value),
                "severity": r.severity,
                "overridden": r.overridden,
                "configurable": r.configurable,
            }
            for r in rules_effective(merchant_id=merchant.pk if merchant else None)
        ],
    }


@router.get("", response=with_errors({200: RulesOut}, *AUTHENTICATED, 404), summary="The checks' rules")
def list_rules(request: HttpRequest, filters: Query[RulesFilters]) -> dict[str, Any]:
    """Every rule with its default and the severity that applies to `merchant` (a merchant user:
    its own merchant, named or not; staff without `merchant`: the defaults)."""
    reject_unknown_query(request, RulesFilters)
    act = actor(request)
    if filters.merchant:
        return _rules(_merchant(act, filters.merchant))
    if act.merchant_id is not None:
        return _rules(Merchant.objects.get(pk=act.merchant_id))
    return _rules(None)


@router.put("", response=with_errors({200: RulesOut}, *BODY_ERRORS), summary="Change a merchant's rules")
def set_rules(request: HttpRequest, body: RulesIn) -> dict[str, Any]:
    """Set each code of `severities` for the merchant (``default`` goes back to the rule's
    own). All or nothing: an unknown code (422 ``RULE_UNKNOWN``), a code that cannot be
    changed (422 ``RULE_NOT_CONFIGURABLE``) or a severity that does not exist (422 naming
    ``severities.<code>``) changes nothing. Managers and admins only."""
    act = _editor(request)
    merchant = _merchant(act, body.merchant)
    try:
        rules_set(merchant_id=merchant.pk, severities=body.severities, actor_label=act.label)
    except RuleChangeRefused as exc:
        raise _refused(exc, f"severities.{exc.rule}") from None
    return _rules(merchant)


@router.post(
    "/dry-run",
    response=with_errors({200: DryRunOut}, *BODY_ERRORS),
    summary="What a rule change would flag, replayed over recent orders",
)
def dry_run(request: HttpRequest, body: DryRunIn) -> dict[str, Any]:
    """Replays the merchant's orders paid in the last `days` with `code` at `severity` and
    counts the orders it would newly flag, stop flagging, newly block, stop blocking, hold or
    release, with a sample of order ids. Writes nothing. Managers and admins only; refused
    like `PUT /rules` (field ``code``)."""
    act = _editor(request)
    merchant = _merchant(act, body.merchant)
    try:
        report = rules_dry_run(
            merchant_id=merchant.pk, code=body.code, severity=body.severity, days=body.days, now=clock.now()
        )
    except RuleChangeRefused as exc:
        raise _refused(exc, "code") from None
    return {
        "merchant": merchant.code,
        "code": report.code,
        "current": report.current,
        "proposed": report.proposed,
        "days": report.days,
        "orders_checked": report.orders_checked,
        "orders_with_finding": report.orders_with_finding,
        "counts": {outcome: report.counts.get(outcome, 0) for outcome in DRY_RUN_OUTCOMES},
        "samples": {outcome: report.samples.get(outcome, []) for outcome in DRY_RUN_OUTCOMES},
    }
