"""Feasibility of a special request (H5.1), without a database: does a contract of the order's
warehouse with the courier asked for serve the order's province or city, is there expedited
capacity left today, and when can the parcel leave (before the day's cut-off, else on the next
working day of the warehouse's calendar).

`assess` takes the contracts and the capacity already used as plain values;
`specials.services.special_feasibility` reads them and records the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from orderguard.sla.calendar import WorkingTime

# Suffixes an administrative name may carry or leave out (广西壮族自治区 = 广西, 深圳市 = 深圳).
_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "自治州", "地区", "省", "市")
# How far ahead a dispatch day is looked for before the calendar is declared broken.
SEARCH_DAYS = 60


def region_key(name: str) -> str:
    """A province's or city's name without its administrative suffix, for comparing."""
    value = (name or "").strip()
    for suffix in _SUFFIXES:
        if value.endswith(suffix) and len(value) > len(suffix):
            return value[: -len(suffix)]
    return value


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """What feasibility needs of a `CourierContract`."""

    id: int
    courier: str
    active: bool
    regions: tuple[str, ...]
    designated_fee: Decimal
    expedited_fee: Decimal
    cutoff: time
    expedited_capacity: int

    def serves(self, *, province: str, city: str) -> bool:
        """Nationwide (no regions listed), or the order's province or city is listed."""
        if not self.regions:
            return True
        wanted = {region_key(province), region_key(city)} - {""}
        return any(region_key(r) in wanted for r in self.regions)


@dataclass(frozen=True, slots=True)
class Feasibility:
    """The result: `feasible`, the reasons it is not (each a dict with a ``code``), the contract
    chosen, the fee to quote, the dispatch time, the contracts considered (each with whether it
    serves the region and its capacity left), and the alternatives (other couriers that serve
    the region) when it is not feasible."""

    feasible: bool
    reasons: list[dict[str, Any]] = field(default_factory=list)
    contract_id: int | None = None
    courier: str = ""
    fee: Decimal = Decimal("0")
    dispatch_at: datetime | None = None
    after_cutoff: bool = False
    considered: list[dict[str, Any]] = field(default_factory=list)
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        """For the event and the request row (JSON)."""
        return {
            "feasible": self.feasible,
            "reasons": self.reasons,
            "contract": self.contract_id,
            "courier": self.courier,
            "fee": str(self.fee),
            "dispatch_at": self.dispatch_at.isoformat() if self.dispatch_at else None,
            "after_cutoff": self.after_cutoff,
            "contracts": self.considered,
            "alternatives": self.alternatives,
        }


def dispatch_time(*, now: datetime, cutoff: time, calendar: WorkingTime) -> tuple[datetime, bool]:
    """When the parcel leaves: today at the cut-off when today is a working day and the cut-off
    (in the calendar's time zone) has not passed, else the cut-off of the next working day;
    and whether the cut-off had passed."""
    local = now.astimezone(calendar.tz)
    day = local.date()
    after = not calendar.is_working_day(day) or local.time() >= cutoff
    if after:
        for _ in range(SEARCH_DAYS):
            day += timedelta(days=1)
            if calendar.is_working_day(day):
                break
    return datetime.combine(day, cutoff, tzinfo=calendar.tz).astimezone(UTC), after


def _region(province: str, city: str) -> str:
    return " ".join(p for p in (province, city) if p)


def assess(
    *,
    courier: str,
    expedited: bool,
    province: str,
    city: str,
    contracts: Sequence[ContractTerms],
    used: Mapping[int, int],
    now: datetime,
    calendar: WorkingTime,
    default_cutoff: time,
) -> Feasibility:
    """Whether the request can be met (H5.1), and how.

    - a designated `courier`: the warehouse needs an active contract with it that serves the
      province or city (reasons ``NO_CONTRACT``, ``CONTRACT_INACTIVE``, ``REGION_NOT_SERVED``
      naming the `region`);
    - `expedited`: that contract (or, without a courier, the cheapest active contract that
      serves the region) needs capacity left today: its daily capacity minus `used` (reason
      ``CAPACITY_EXHAUSTED``; ``NO_CONTRACT_SERVES`` when none serves the region);
    - anything else (a delivery window, gift packing, no price slip): feasible, no fee.
    The fee is the contract's designated fee when a courier is named plus its expedited fee
    when expedited. The dispatch time follows the chosen contract's cut-off (else
    `default_cutoff`).
    """
    region = _region(province, city)
    considered = []
    for c in contracts:
        serves = c.serves(province=province, city=city)
        considered.append(
            {
                "id": c.id,
                "courier": c.courier,
                "active": c.active,
                "serves": serves,
                "regions": list(c.regions),
                "designated_fee": str(c.designated_fee),
                "expedited_fee": str(c.expedited_fee),
                "capacity_left": max(0, c.expedited_capacity - used.get(c.id, 0)),
                "cutoff": c.cutoff.strftime("%H:%M"),
            }
        )

    def left(c: ContractTerms) -> int:
        return c.expedited_capacity - used.get(c.id, 0)

    usable = [
        c
        for c in contracts
        if c.active and c.serves(province=province, city=city) and (not expedited or left(c) > 0)
    ]
    reasons: list[dict[str, Any]] = []
    chosen: ContractTerms | None = None
    if courier:
        own = next((c for c in contracts if c.courier == courier), None)
        if own is None:
            reasons.append({"code": "NO_CONTRACT", "courier": courier})
        elif not own.active:
            reasons.append({"code": "CONTRACT_INACTIVE", "courier": courier})
        elif not own.serves(province=province, city=city):
            reasons.append({"code": "REGION_NOT_SERVED", "courier": courier, "region": region})
        elif expedited and left(own) <= 0:
            reasons.append(
                {"code": "CAPACITY_EXHAUSTED", "courier": courier, "capacity": own.expedited_capacity}
            )
        else:
            chosen = own
    elif expedited:
        serving = [c for c in contracts if c.active and c.serves(province=province, city=city)]
        if not serving:
            reasons.append({"code": "NO_CONTRACT_SERVES", "region": region})
        elif not usable:
            reasons.append(
                {
                    "code": "CAPACITY_EXHAUSTED",
                    "courier": "",
                    "capacity": sum(c.expedited_capacity for c in serving),
                }
            )
        else:
            chosen = min(usable, key=lambda c: (c.expedited_fee, c.courier))
    feasible = not reasons
    fee = Decimal("0")
    if chosen is not None:
        fee = (chosen.designated_fee if courier else Decimal("0")) + (
            chosen.expedited_fee if expedited else Decimal("0")
        )
    dispatch_at, after = dispatch_time(
        now=now, cutoff=chosen.cutoff if chosen else default_cutoff, calendar=calendar
    )
    alternatives = []
    if not feasible:
        alternatives = [
            {
                "courier": c.courier,
                "fee": str(c.designated_fee + (c.expedited_fee if expedited else Decimal("0"))),
            }
            for c in sorted(usable, key=lambda c: (c.designated_fee, c.courier))
            if c.courier != courier
        ]
    return Feasibility(
        feasible=feasible,
        reasons=reasons,
        contract_id=chosen.id if chosen else None,
        courier=chosen.courier if chosen else courier,
        fee=fee,
        dispatch_at=dispatch_at if feasible else None,
        after_cutoff=after if feasible else False,
        considered=considered,
        alternatives=alternatives,
    )
