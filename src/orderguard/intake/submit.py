"""Orders sent in one API request (``POST /api/v1/orders``), through the same flow as a file.

The request's orders are the generic JSON layout (docs/formats/generic.md) and are read by the
generic adapter, exactly as an uploaded ``{"orders": [...]}`` file would be: one batch, row
errors naming each refused order by its position, the upsert by (channel, platform order id)
that makes a repeated order unchanged rather than doubled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.errors import RowError
from orderguard.intake.models import ImportBatch, ImportStatus
from orderguard.intake.services import Outcomes, orders_import
from orderguard.orders.models import Channel

MAX_ORDERS_PER_REQUEST = 500
# The name the request's orders go by in the batch and its row error messages.
REQUEST_FILE = "request"


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class SubmittedOrder:
    """What became of the `index`-th order of the request (0-based); `order` is the stored
    order's id, None when refused; `errors` name fields as ``orders[<index>].<field>``."""

    index: int
    platform_order_id: str
    outcome: Outcome
    order: int | None
    errors: list[RowError]


@dataclass(frozen=True)
class OrdersSubmitted:
    batch: ImportBatch
    orders: list[SubmittedOrder]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.orders if o.outcome == outcome)


class OrdersRejected(Exception):
    """The request's orders could not be read as a whole: nothing was kept."""

    def __init__(self, *, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def orders_submit(
    *, channel: Channel, orders: Sequence[dict[str, Any]], actor_label: str, now: datetime | None = None
) -> OrdersSubmitted:
    """Import `orders` (generic JSON order objects) into `channel` as one batch.

    The caller has checked that the actor may import into the channel and that there are at
    most `MAX_ORDERS_PER_REQUEST`. Everything runs in one transaction: a failure of the whole
    (`OrdersRejected`, or any exception) keeps nothing, not even the batch. Refused orders are
    row errors of the batch and the others are imported; side effects are those of
    `orders_import`.
    """
    body = json.dumps({"orders": list(orders)}, ensure_ascii=False).encode()
    outcomes: Outcomes = {}
    with transaction.atomic():
        batch = orders_import(
            files=[SourceFile(name=REQUEST_FILE, data=body)],
            channel=channel,
            format="generic",
            actor_label=actor_label,
            now=now,
            outcomes=outcomes,
        )
        errors = list(batch.errors.order_by("row", "pk"))
        if batch.status == ImportStatus.FAILED:
            whole = next((e for e in errors if e.row == 0), None)
            # raising inside the atomic block takes the batch back with everything else
            raise OrdersRejected(
                code=whole.code if whole is not None else "IMPORT_FAILED",
                message=whole.message if whole is not None else _("请求中的订单无法读取"),
            )
    by_row: dict[int, list[RowError]] = {}
    for e in errors:
        by_row.setdefault(e.row, []).append(
            RowError(
                file=e.file,
                row=e.row,
                field=_path(e.row - 1, e.field),
                code=e.code,
                message=e.message,
                value=e.value,
            )
        )
    answered = []
    for index, obj in enumerate(orders):
        done = outcomes.get((REQUEST_FILE, index + 1))
        row_errors = by_row.get(index + 1, [])
        if done is None:
            answered.append(SubmittedOrder(index, _sent_id(obj), Outcome.REFUSED, None, row_errors))
        else:
            answered.append(SubmittedOrder(index, _sent_id(obj), Outcome(done[0]), done[1], row_errors))
    return OrdersSubmitted(batch=batch, orders=answered)


def _path(index: int, field: str) -> str:
    return f"orders[{index}].{field}" if field else f"orders[{index}]"


def _sent_id(obj: dict[str, Any]) -> str:
    raw = obj.get("order_id")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return ""
    return str(raw).strip()[:100]
