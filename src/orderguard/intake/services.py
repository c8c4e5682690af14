"""The order flow: upsert → checks → allocation → triage, in batches.

This is the one place that knows the order of the steps (DESIGN.md "How an order flows"); the
domain apps it calls never call upward. Each chunk of orders is one transaction: an order is
written whole (with its lines, findings, stock and cases) or not at all.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils.translation import gettext as _

from orderguard.cases import events as case_events
from orderguard.cases.choices import OPEN_STATUSES
from orderguard.cases.models import ExceptionCase
from orderguard.cases.notices import stockout_notices_enqueue
from orderguard.cases.services import OrderFindings, TriageResult, cases_triage
from orderguard.catalog.models import Sku
from orderguard.catalog.selectors import catalog_records_for_matching
from orderguard.core import bulk, clock
from orderguard.core.choices import ExceptionType
from orderguard.core.errors import NotFound
from orderguard.core.findings import Finding
from orderguard.intake.adapters import detect_format, get_adapter
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.errors import CorrectionRefused, FileRejected, LinesRefused, RowError
from orderguard.intake.models import ImportBatch, ImportKind, ImportRowError, ImportStatus
from orderguard.intake.tabular import gc_paused
from orderguard.inventory.services import (
    AllocationRequest,
    stock_allocate,
    stock_dispatch,
    stock_free_pairs,
    stock_recheck,
    stock_release,
)
from orderguard.orders.choices import OrderEventType, OrderStatus
from orderguard.orders.models import Channel, Order, OrderEvent, OrderLine
from orderguard.orders.schema import LineIn, OrderIn, PlatformState
from orderguard.sla.services import PolicyBook
from orderguard.tenancy.access import Actor, visible
from orderguard.validation.address import address_as_written
from orderguard.validation.checks import CheckResult, check_order
from orderguard.validation.product import CatalogIndex, SkuRecord
from orderguard.validation.rules import rule_overrides_for, stored_order_in

log = logging.getLogger(__name__)

ProgressFn = Callable[[ImportBatch], None]
# The actor label of orders entered by hand (H4.2): their own import does not reconcile them.
MANUAL_ACTOR_PREFIX = "manual:"
# What happened to each order read, by where it was read: (file, row) -> (outcome, order id).
Outcomes = dict[tuple[str, int], tuple[str, int]]

# Fields compared to say what a platform update changed (names only: values may be PII).
TRACKED_FIELDS = (
    "platform_status",
    "platform_state",
    "placed_at",
    "paid_at",
    "recipient_name",
    "recipient_phone",
    "phone_expires_at",
    "address_received",
    "buyer_note",
    "seller_note",
    "requested_courier",
    "service_level",
)


@dataclass
class _Context:
    batch: ImportBatch
    channel: Channel
    catalog: CatalogIndex
    policies: PolicyBook
    # the merchant's rule settings, read once per import (code -> blocking/warning/off)
    rule_overrides: dict[str, str]
    now: datetime
    actor_label: str
    outcomes: Outcomes | None = None


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cases_opened: int = 0
    errors: list[RowError] = field(default_factory=list)


def catalog_index_for(*, merchant_id: int) -> CatalogIndex:
    return CatalogIndex.build(
        SkuRecord(**fields) for fields in catalog_records_for_matching(merchant_id=merchant_id)
    )


def files_digest(files: Sequence[SourceFile]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        h.update(f.name.encode())
        h.update(hashlib.sha256(f.data).digest())
    return h.hexdigest()


def orders_import(
    *,
    files: Sequence[SourceFile],
    channel: Channel,
    format: str = "auto",
    actor_label: str = "system:intake",
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    batch: ImportBatch | None = None,
    outcomes: Outcomes | None = None,
) -> ImportBatch:
    """Import order files for one channel and run each order through the whole flow.

    Orders are keyed by (channel, platform order id): an unchanged order is counted and left
    alone; a changed one is updated, re-checked, re-allocated, and an `updated` OrderEvent names
    the fields that changed. Orders the platform does not release to ship (unpaid, refunding,
    closed) are kept with their status, never allocated and never opened as cases. An order
    whose personal data the retention job removed is left alone (counted unchanged).
    Rejected rows are stored on the batch as ImportRowError rows naming file, row and field;
    good rows still import. A file that cannot be read at all fails the batch with one error.
    `progress` is called after each chunk with the batch (counts so far).
    `batch`: a batch created beforehand (status running, so a page can show it while the import
    runs in a job); it is used as given instead of a new one.
    `outcomes`: when given, filled with what happened to each order written or found unchanged,
    keyed by the (file, row) it was read from: ``("created" | "updated" | "unchanged", order id)``.
    An order absent from it was refused (its row errors say why).
    """
    moment = now or clock.now()
    if batch is None:
        batch = ImportBatch.objects.create(
            kind=ImportKind.ORDERS,
            merchant_id=channel.merchant_id,
            channel=channel,
            format=format,
            file_names=[f.name for f in files],
            sha256=files_digest(files),
            actor_label=actor_label,
            started_at=moment,
        )
    counts = _Counts()
    try:
        name = detect_format(list(files)) if format == "auto" else format
        adapter = get_adapter(name)
        batch.format = adapter.format
        ctx = _Context(
            batch=batch,
            channel=channel,
            catalog=catalog_index_for(merchant_id=channel.merchant_id),
            policies=PolicyBook(),
            rule_overrides=rule_overrides_for(merchant_id=channel.merchant_id),
            now=moment,
            actor_label=actor_label,
            outcomes=outcomes,
        )
        orders: list[OrderIn] = []
        seen: dict[str, OrderIn] = {}
        for item in adapter.read(list(files)):
            if isinstance(item, RowError):
                counts.errors.append(item)
                continue
            problem = _refuse(item, seen.get(item.platform_order_id))
            if problem is not None:
                counts.errors.append(problem)
                continue
            _scrub(item)
            seen[item.platform_order_id] = item
            orders.append(item)
        # Stock goes first come, first served: sort the whole import by payment time before
        # cutting it into chunks, so the order of the file (Taobao lists newest first) and the
        # chunk boundaries make no difference. The sort is stable: ties keep file order.
        orders.sort(key=_payment_key)
        size = settings.IMPORT_CHUNK_SIZE
        for start in range(0, len(orders), size):
            _flush(ctx, orders[start : start + size], counts, progress)
        batch.status = ImportStatus.DONE
    except FileRejected as exc:
        counts.errors.append(exc.error)
        batch.status = ImportStatus.FAILED
    except Exception as exc:
        # Whatever was committed chunk by chunk stays (each chunk is whole); the batch says it
        # stopped, so nobody takes it for a finished import. Importing the file again resumes:
        # the orders already in are found unchanged.
        batch.status = ImportStatus.FAILED
        counts.errors.append(
            RowError(
                file="",
                row=0,
                field="",
                code="IMPORT_INTERRUPTED",
                message=_("导入中断（%(error)s）：已写入的订单保留，重新导入同一文件即可继续")
                % {"error": type(exc).__name__},
            )
        )
        raise
    finally:
        _save_errors(batch, counts)
        batch.finished_at = clock.now() if now is None else moment
        batch.save()
    if batch.status == ImportStatus.DONE and not actor_label.startswith(MANUAL_ACTOR_PREFIX):
        # B3: a platform's copy of an order entered by hand during an outage is merged with it
        # now, before anything ships twice (a no-op for a channel without manual orders)
        from orderguard.incidents.reconcile import manual_reconcile

        manual_reconcile(channel_id=channel.pk, now=moment)
    return batch


MAX_ORDER_ID = 64


def _refuse(order: OrderIn, first: OrderIn | None) -> RowError | None:
    """An order that cannot be imported as given: an id too long for the platform order id
    column, or an id already read from another file or place of this import (the adapters
    catch repeats inside one file)."""
    if len(order.platform_order_id) > MAX_ORDER_ID:
        return RowError(
            file=order.source_file,
            row=order.source_row,
            field="order_id",
            code="FIELD_TOO_LONG",
            message=_("%(file)s 第 %(row)d 行：订单号超过 %(max)d 个字符，该订单未导入")
            % {"file": order.source_file, "row": order.source_row, "max": MAX_ORDER_ID},
            value=order.platform_order_id[:80],
        )
    if first is not None:
        return RowError(
            file=order.source_file,
            row=order.source_row,
            field="order_id",
            code="DUPLICATE_ORDER",
            message=_(
                "%(file)s 第 %(row)d 行：订单 %(order)s 已在 %(first_file)s 第 %(first_row)d 行出现，以先出现的为准"
            )
            % {
                "file": order.source_file,
                "row": order.source_row,
                "order": order.platform_order_id,
                "first_file": first.source_file,
                "first_row": first.source_row,
            },
            value=order.platform_order_id,
        )
    return None


def _scrub_text(value: str) -> str:
    return value.replace("\x00", "") if "\x00" in value else value


def _scrub_any(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {_scrub_text(str(k)): _scrub_any(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_any(v) for v in value]
    return value


def _scrub(order: OrderIn) -> None:
    """Drop NUL characters, which no database text column accepts (PostgreSQL refuses them),
    from every text of the order, in place."""
    for obj, names in (
        (order, _ORDER_TEXT),
        (order.address, _ADDRESS_TEXT),
    ):
        for name in names:
            value = getattr(obj, name)
            if "\x00" in value:
                setattr(obj, name, value.replace("\x00", ""))
    for line in order.lines:
        for name in _LINE_TEXT:
            value = getattr(line, name)
            if "\x00" in value:
                setattr(line, name, value.replace("\x00", ""))
        line.attributes = _scrub_any(line.attributes)
    order.extra = _scrub_any(order.extra)


_ORDER_TEXT = (
    "platform_order_id",
    "platform_status",
    "recipient_name",
    "recipient_phone",
    "buyer_note",
    "seller_note",
    "requested_courier",
    "service_level",
)
_ADDRESS_TEXT = ("raw", "province", "city", "district", "town", "detail", "postcode", "country")
_LINE_TEXT = ("sku_code", "title", "platform_line_id")
_NEVER = datetime.max.replace(tzinfo=UTC)


def _payment_key(order: OrderIn) -> datetime:
    """Paid first; an order without a payment time (unpaid, manual) queues behind the paid."""
    return order.paid_at or order.created_at or _NEVER


def _save_errors(batch: ImportBatch, counts: _Counts) -> None:
    if not counts.errors:
        return
    ImportRowError.objects.bulk_create(
        [
            ImportRowError(
                batch=batch,
                file=e.file,
                row=e.row,
                field=e.field,
                code=e.code,
                message=e.message,
                value=e.value[:300],
            )
            for e in counts.errors
        ],
        batch_size=1000,
    )
    batch.rows_failed += len(counts.errors)
    counts.errors = []


@dataclass
class _ChunkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cases_opened: int = 0
    errors: list[RowError] = field(default_factory=list)
    outcomes: list[tuple[OrderIn, str, int]] = field(default_factory=list)


# Once the platform has closed or shipped an order, a version that makes it payable or ready to
# ship again is an old snapshot (an older export, a replayed webhook), not news.
_FINAL_STATES = frozenset({PlatformState.CLOSED, PlatformState.SHIPPED})
_OPEN_STATES = frozenset({PlatformState.READY, PlatformState.UNPAID})


def _regression(order: Order, incoming: OrderIn) -> RowError | None:
    if order.platform_state in _FINAL_STATES and incoming.state in _OPEN_STATES:
        return RowError(
            file=incoming.source_file,
            row=incoming.source_row,
            field="status",
            code="STATE_REGRESSION",
            message=_(
                "%(file)s 第 %(row)d 行：订单 %(order)s 在平台上已是“%(now)s”，这份数据却是“%(then)s”：按旧数据处理，未更新"
            )
            % {
                "file": incoming.source_file,
                "row": incoming.source_row,
                "order": incoming.platform_order_id,
                "now": PlatformState(order.platform_state).label,
                "then": incoming.state.label,
            },
            value=incoming.platform_status[:80],
        )
    return None


def _flush(ctx: _Context, chunk: list[OrderIn], counts: _Counts, progress: ProgressFn | None) -> None:
    if chunk:
        _write(ctx, chunk, counts)
    batch = ctx.batch
    batch.rows_total = counts.created + counts.updated + counts.unchanged
    batch.created, batch.updated, batch.unchanged = counts.created, counts.updated, counts.unchanged
    batch.cases_opened = counts.cases_opened
    _save_errors(batch, counts)
    batch.save()
    if progress:
        progress(batch)


def _write(ctx: _Context, chunk: list[OrderIn], counts: _Counts) -> None:
    """Write a chunk in one transaction; counts change only when it commits.

    An IntegrityError is most likely a concurrent import of the same orders (PostgreSQL: the
    loser of the unique insert); it is retried, and then finds them existing. If the database
    still refuses the chunk, it is halved until the order it refuses is alone, and that order
    is reported as a row error: one bad order never sinks the good ones around it.
    """
    for attempt in range(3):
        try:
            # A chunk allocates ~50k short-lived objects with no cycles among them; the cyclic
            # collector would walk the whole heap several times per chunk for nothing.
            with gc_paused():
                result = _process_chunk(ctx, chunk)
        except IntegrityError:
            log.info("chunk refused (attempt %d): concurrent import or bad row", attempt + 1)
            continue
        except DatabaseError as exc:
            last: DatabaseError = exc
            break
        else:
            counts.created += result.created
            counts.updated += result.updated
            counts.unchanged += result.unchanged
            counts.cases_opened += result.cases_opened
            counts.errors.extend(result.errors)
            if ctx.outcomes is not None:
                for oi, outcome, order_id in result.outcomes:
                    ctx.outcomes[(oi.source_file, oi.source_row)] = (outcome, order_id)
            return
    else:
        last = IntegrityError("refused three times")
    if len(chunk) == 1:
        order = chunk[0]
        counts.errors.append(
            RowError(
                file=order.source_file,
                row=order.source_row,
                field="",
                code="ORDER_REFUSED",
                message=_("%(file)s 第 %(row)d 行：订单 %(order)s 未能写入（%(error)s），其余订单不受影响")
                % {
                    "file": order.source_file,
                    "row": order.source_row,
                    "order": order.platform_order_id,
                    "error": str(last).splitlines()[0][:200],
                },
                value=order.platform_order_id,
            )
        )
        return
    middle = len(chunk) // 2
    _write(ctx, chunk[:middle], counts)
    _write(ctx, chunk[middle:], counts)


def _apply(order: Order, oi: OrderIn, fp: str, result: CheckResult) -> None:
    """Copy an OrderIn and its check result onto an Order (new or existing)."""
    a = oi.address
    parsed = result.parsed_address
    order.platform_status = oi.platform_status[:100]
    order.platform_state = oi.state
    order.placed_at = oi.created_at
    order.paid_at = oi.paid_at
    order.recipient_name = oi.recipient_name[:200]
    order.recipient_phone = oi.recipient_phone[:100]
    order.phone_normalised = result.phone.normalised[:40]
    order.phone_kind = str(result.phone.kind)
    order.phone_expires_at = oi.phone_expires_at
    order.address_received = {
        "raw": a.raw,
        "province": a.province,
        "city": a.city,
        "district": a.district,
        "town": a.town,
        "detail": a.detail,
        "postcode": a.postcode,
        "country": a.country,
    }
    order.country = (a.country or "CN")[:2].upper()
    order.province = parsed.province[:50]
    order.city = parsed.city[:50]
    order.district = parsed.district[:50]
    order.town = parsed.town[:50]
    order.address_detail = parsed.detail[:500]
    order.postcode = parsed.postcode[:20]
    # the deepest level the division data confirmed
    order.division_code = (
        parsed.town_code or parsed.district_code or parsed.city_code or parsed.province_code
    )[:12]
    order.buyer_note = oi.buyer_note
    order.seller_note = oi.seller_note
    order.requested_courier = oi.requested_courier[:50]
    order.service_level = oi.service_level[:20]
    order.fingerprint = fp
    order.extra = oi.extra


def _lines_for(order: Order, oi: OrderIn, result: CheckResult) -> list[OrderLine]:
    return [
        bulk.new(
            OrderLine,
            order=order,
            line_no=n,
            sku_code=line.sku_code[:100],
            title=line.title[:300],
            attributes=line.attributes,
            sku_id=result.resolved_sku_ids[n - 1],
            quantity=line.quantity,
            platform_line_id=line.platform_line_id[:64],
        )
        for n, line in enumerate(oi.lines, start=1)
    ]


def _give_back(
    changed: Sequence[tuple[OrderIn, Order]], *, now: datetime, actor_label: str, reason: str
) -> set[tuple[int, int]]:
    """What changed orders held is given back (they are allocated again if they can still
    ship), except when the platform says an order has shipped: then the goods left. Their lines
    are deleted: they are written again from the new version. Returns the (warehouse, SKU)
    rows that got stock back."""
    released: set[tuple[int, int]] = set()
    if not changed:
        return released
    shipped = [o for oi, o in changed if oi.state == PlatformState.SHIPPED]
    others = [o for oi, o in changed if oi.state != PlatformState.SHIPPED]
    stock_dispatch(orders=shipped, now=now, actor_label=actor_label, reason="shipped_on_platform")
    stock_release(orders=others, now=now, actor_label=actor_label, reason=reason, released=released)
    OrderLine.objects.filter(order__in=[o for _oi, o in changed]).delete()
    return released


def _allocate_and_judge(
    checked: Sequence[tuple[OrderIn, Order, CheckResult]],
    *,
    lines_by_order: dict[int, list[OrderLine]],
    warehouse_id: int,
    now: datetime,
    actor_label: str,
) -> list[OrderFindings]:
    """Allocate the checked orders the platform releases to ship, then set each order's
    findings (checks, then stock) and status in memory; returns what triage needs."""
    alloc = stock_allocate(
        requests=[
            AllocationRequest(order=o, lines=lines_by_order[o.pk], warehouse_id=warehouse_id)
            for oi, o, _r in checked
            if oi.state == PlatformState.READY
        ],
        now=now,
        actor_label=actor_label,
    )
    items: list[OrderFindings] = []
    for oi, order, result in checked:
        findings: list[Finding] = [*result.findings, *alloc.findings.get(order.pk, ())]
        order.findings = [f.as_dict() for f in findings]
        if oi.state == PlatformState.READY:
            blocking = any(f.blocking for f in findings)
            order.status = OrderStatus.ON_HOLD if blocking else OrderStatus.READY
            items.append(OrderFindings(order=order, findings=findings))
        else:
            order.status = OrderStatus.SHIPPED if oi.state == PlatformState.SHIPPED else OrderStatus.NOT_READY
            items.append(OrderFindings(order=order, not_ready=True))
    return items


def _triage(
    items: Sequence[OrderFindings],
    *,
    warehouse_id: int,
    now: datetime,
    actor_label: str,
    policies: PolicyBook,
) -> TriageResult:
    """Open, update and close the cases of judged orders; stock-out notices for new cases."""
    triage = cases_triage(items=items, now=now, actor_label=actor_label, policies=policies)
    stockout_notices_enqueue(cases=triage.opened, warehouse_id=warehouse_id, now=now, actor_label=actor_label)
    return triage


def _process_chunk(ctx: _Context, chunk: list[OrderIn]) -> _ChunkResult:
    """One transaction for a chunk: classify, check, allocate, triage, then write everything.

    New orders get their keys first (`bulk.reserve_ids`), so their status, findings, lines
    (with allocated quantities), stock movements, cases and events are all decided in memory
    and each table is written once; only orders changed on the platform are updated in place.
    """
    channel, now = ctx.channel, ctx.now
    result_counts = _ChunkResult()
    with transaction.atomic():
        existing = {
            o.platform_order_id: o
            for o in Order.objects.filter(
                channel=channel, platform_order_id__in=[oi.platform_order_id for oi in chunk]
            )
        }
        fingerprints = [oi.fingerprint() for oi in chunk]
        # the lines of every order the platform changed, in one query, to say what changed
        stale = [
            o.pk
            for oi, fp in zip(chunk, fingerprints, strict=True)
            if (o := existing.get(oi.platform_order_id)) is not None
            and o.fingerprint != fp
            and o.anonymised_at is None
        ]
        old_lines: dict[int, list[tuple[str, int, dict[str, str]]]] = {}
        for order_id, *line in (
            OrderLine.objects.filter(order_id__in=stale)
            .order_by("order_id", "line_no")
            .values_list("order_id", "sku_code", "quantity", "attributes")
        ):
            old_lines.setdefault(order_id, []).append(tuple(line))
        fresh: list[tuple[OrderIn, Order, CheckResult]] = []
        changed: list[tuple[OrderIn, Order, CheckResult, list[str]]] = []
        for oi, fp in zip(chunk, fingerprints, strict=True):
            old = existing.get(oi.platform_order_id)
            # an anonymised order is closed for good: an old export imported again must not
            # bring its recipient's data back
            if old is not None and (old.fingerprint == fp or old.anonymised_at is not None):
                result_counts.unchanged += 1
                result_counts.outcomes.append((oi, "unchanged", old.pk))
                continue
            if old is not None and (regression := _regression(old, oi)) is not None:
                result_counts.errors.append(regression)
                continue
            result = check_order(oi, catalog=ctx.catalog, now=now, severity_overrides=ctx.rule_overrides)
            if old is None:
                order = bulk.new(
                    Order,
                    merchant_id=channel.merchant_id,
                    channel=channel,
                    platform_order_id=oi.platform_order_id,
                )
                _apply(order, oi, fp, result)
                order.import_batch = ctx.batch
                fresh.append((oi, order, result))
            else:
                before = {name: getattr(old, name) for name in TRACKED_FIELDS}
                before_lines = old_lines.get(old.pk, [])
                _apply(old, oi, fp, result)
                old.import_batch = ctx.batch
                what = [name for name in TRACKED_FIELDS if getattr(old, name) != before[name]]
                if before_lines != [(li.sku_code, li.quantity, li.attributes) for li in oi.lines]:
                    what.append("lines")
                changed.append((oi, old, result, what))
        for (_oi, order, _r), pk in zip(fresh, bulk.reserve_ids(Order, len(fresh)), strict=True):
            order.pk = pk

        # orders changed on the platform give their stock back and get new lines
        changed_orders = [o for _oi, o, _r, _w in changed]
        released = _give_back(
            [(oi, o) for oi, o, _r, _w in changed],
            now=now,
            actor_label=ctx.actor_label,
            reason="order_updated",
        )
        everything = [*fresh, *((oi, o, r) for oi, o, r, _w in changed)]
        lines_by_order = {o.pk: _lines_for(o, oi, r) for oi, o, r in everything}
        items = _allocate_and_judge(
            everything,
            lines_by_order=lines_by_order,
            warehouse_id=channel.warehouse_id,
            now=now,
            actor_label=ctx.actor_label,
        )

        bulk.insert([o for _oi, o, _r in fresh])
        if changed_orders:
            bulk.update(changed_orders, ["status", "findings", *_ORDER_FIELDS])
        bulk.insert([line for lines in lines_by_order.values() for line in lines])

        triage = _triage(
            items,
            warehouse_id=channel.warehouse_id,
            now=now,
            actor_label=ctx.actor_label,
            policies=ctx.policies,
        )
        bulk.insert(
            [
                bulk.new(
                    OrderEvent,
                    order=order,
                    type=OrderEventType.IMPORTED,
                    occurred_at=now,
                    actor_label=ctx.actor_label,
                    data={
                        "batch": ctx.batch.pk,
                        "status": order.status,
                        "codes": [f["code"] for f in order.findings],
                    },
                )
                for _oi, order, _r in fresh
            ]
            + [
                bulk.new(
                    OrderEvent,
                    order=order,
                    type=OrderEventType.UPDATED,
                    occurred_at=now,
                    actor_label=ctx.actor_label,
                    data={
                        "batch": ctx.batch.pk,
                        "changed": what,
                        "status": order.status,
                        "codes": [f["code"] for f in order.findings],
                    },
                )
                for _oi, order, _r, what in changed
            ]
        )
        # stock given back (an order cancelled or changed on the platform) that nothing of the
        # chunk took again serves the orders waiting for it, whose cases then close
        if released and (free := stock_free_pairs(released)):
            stock_recheck(pairs=free, now=now, actor_label=ctx.actor_label)
    result_counts.created = len(fresh)
    result_counts.updated = len(changed)
    result_counts.outcomes.extend((oi, "created", o.pk) for oi, o, _r in fresh)
    result_counts.outcomes.extend((oi, "updated", o.pk) for oi, o, _r, _w in changed)
    result_counts.cases_opened = len(triage.opened)
    return result_counts


_ORDER_FIELDS = (
    "platform_status",
    "platform_state",
    "placed_at",
    "paid_at",
    "recipient_name",
    "recipient_phone",
    "phone_normalised",
    "phone_kind",
    "phone_expires_at",
    "address_received",
    "country",
    "province",
    "city",
    "district",
    "town",
    "address_detail",
    "postcode",
    "division_code",
    "buyer_note",
    "seller_note",
    "requested_courier",
    "service_level",
    "fingerprint",
    "extra",
    "import_batch",
)


# The recipient fields a correction may change (Order columns), and where each lives in OrderIn.
CORRECTABLE: dict[str, str] = {
    "recipient_name": "recipient_name",
    "recipient_phone": "recipient_phone",
    "province": "address.province",
    "city": "address.city",
    "district": "address.district",
    "town": "address.town",
    "address_detail": "address.detail",
    "postcode": "address.postcode",
}
_CORRECTABLE_LENGTH = {
    "recipient_name": 200,
    "recipient_phone": 100,
    "province": 50,
    "city": 50,
    "district": 50,
    "town": 50,
    "address_detail": 500,
    "postcode": 20,
}
REASON_MAX_LENGTH = 500


@dataclass
class Correction:
    """What `order_correct` did: the order as it is now, the fields it changed (none: nothing
    was written) and the cases the re-check opened, updated and closed."""

    order: Order
    changed: list[str]
    triage: TriageResult


def _corrected(oi: OrderIn, changes: Mapping[str, str]) -> tuple[OrderIn, list[str]]:
    """`oi` with `changes` laid over it, and the names of the fields that really changed. The
    address, when one of its slots changes, becomes the structured address as written
    (`address_as_written`) with the changes on top."""
    written = address_as_written(oi.address)
    current = {
        "recipient_name": oi.recipient_name,
        "recipient_phone": oi.recipient_phone,
        "province": written.province,
        "city": written.city,
        "district": written.district,
        "town": written.town,
        "address_detail": written.detail,
        "postcode": written.postcode,
    }
    changed = [name for name in CORRECTABLE if name in changes and changes[name] != current[name]]
    if not changed:
        return oi, []
    fixed = replace(oi, address=oi.address)
    if any(CORRECTABLE[name].startswith("address.") for name in changed):
        fixed.address = written
    for name in changed:
        target = CORRECTABLE[name]
        if target.startswith("address."):
            setattr(fixed.address, target.removeprefix("address."), changes[name])
        else:
            setattr(fixed, target, changes[name])
    return fixed, changed


def _check_again(
    order: Order,
    oi: OrderIn,
    *,
    now: datetime,
    actor_label: str,
    reason: str,
    judge: Callable[[list[OrderFindings], int], TriageResult],
) -> TriageResult:
    """Run an order changed by hand (`oi`, its new version, on the locked `order`) again
    through what an import does: the checks, what it held given back (`reason`), its new
    version written and allocated, then `judge` (the caller's triage and log, given the judged
    order and its warehouse). Last, stock it gave back and did not take again serves the
    orders waiting for it, in the order allocation serves them (`stock_recheck`: their
    stock-out cases close as ``stock_arrived``). Returns what `judge` returned."""
    warehouse_id = order.channel.warehouse_id
    result = check_order(
        oi,
        catalog=catalog_index_for(merchant_id=order.merchant_id),
        now=now,
        severity_overrides=rule_overrides_for(merchant_id=order.merchant_id),
    )
    released = _give_back([(oi, order)], now=now, actor_label=actor_label, reason=reason)
    _apply(order, oi, order.fingerprint, result)
    lines_by_order = {order.pk: _lines_for(order, oi, result)}
    items = _allocate_and_judge(
        [(oi, order, result)],
        lines_by_order=lines_by_order,
        warehouse_id=warehouse_id,
        now=now,
        actor_label=actor_label,
    )
    bulk.update([order], ["status", "findings", *_ORDER_FIELDS])
    bulk.insert(lines_by_order[order.pk])
    triage = judge(items, warehouse_id)
    if released and (free := stock_free_pairs(released)):
        stock_recheck(pairs=free, now=now, actor_label=actor_label)
    return triage


@transaction.atomic
def order_correct(
    *, order_id: int, actor: Actor, changes: Mapping[str, str], reason: str = "", now: datetime
) -> Correction:
    """Correct an order's recipient data (H2.4) and run it again through what an import does:
    the checks (with the merchant's rule settings and catalogue), allocation (what the order
    held is given back first, and stock it does not take again, say its SKU was made inactive
    since, serves the orders waiting for it), triage. Cases whose findings went away close
    themselves; those whose findings changed are updated.

    Only the fields of `CORRECTABLE` may change (values trimmed); values equal to the current
    ones change nothing and write nothing. The order is locked for the whole transaction. A
    ``corrected`` OrderEvent names the changed fields (never their values) and the reason.
    The order's fingerprint stays the platform's: importing the same version again leaves the
    correction alone. Raises `NotFound` for a missing order or another merchant's, and
    `CorrectionRefused` (``ROLE`` for anyone but warehouse staff, ``FIELD_NOT_CORRECTABLE``,
    ``VALUE_INVALID``, ``ORDER_CLOSED`` for a shipped or cancelled order, ``ORDER_ANONYMISED``),
    nothing written.
    """
    order = visible(Order.objects.select_for_update(of=("self",)), actor).filter(pk=order_id).first()
    if order is None:
        raise NotFound("not found", model="Order", id=order_id)
    if not actor.is_staff_role:
        raise CorrectionRefused(code=CorrectionRefused.ROLE, role=actor.role)
    unknown = sorted(name for name in changes if name not in CORRECTABLE)
    if unknown:
        raise CorrectionRefused(code=CorrectionRefused.FIELD_NOT_CORRECTABLE, fields=unknown)
    invalid = sorted(
        name
        for name, value in changes.items()
        if not isinstance(value, str) or len(value.strip()) > _CORRECTABLE_LENGTH[name] or "\x00" in value
    )
    if invalid:
        raise CorrectionRefused(code=CorrectionRefused.VALUE_INVALID, fields=invalid)
    if order.anonymised_at is not None:
        raise CorrectionRefused(code=CorrectionRefused.ORDER_ANONYMISED)
    if order_is_closed(order):
        raise CorrectionRefused(code=CorrectionRefused.ORDER_CLOSED, status=order.status)
    lines = list(OrderLine.objects.filter(order=order).order_by("line_no"))
    oi, changed = _corrected(stored_order_in(order, lines), {k: v.strip() for k, v in changes.items()})
    if not changed:
        return Correction(order=order, changed=[], triage=TriageResult())

    def judge(items: list[OrderFindings], warehouse_id: int) -> TriageResult:
        triage = _triage(
            items, warehouse_id=warehouse_id, now=now, actor_label=actor.label, policies=PolicyBook()
        )
        OrderEvent.objects.create(
            order=order,
            type=OrderEventType.CORRECTED,
            occurred_at=now,
            actor_id=actor.user_id,
            actor_label=actor.label,
            data={
                "changed": changed,
                "reason": reason.strip()[:REASON_MAX_LENGTH],
                "status": order.status,
                "codes": [f["code"] for f in order.findings],
            },
        )
        return triage

    triage = _check_again(order, oi, now=now, actor_label=actor.label, reason="order_corrected", judge=judge)
    log.info("order %s corrected: %s", order.pk, ",".join(changed))
    return Correction(order=order, changed=changed, triage=triage)


# A change of lines: at most this many lines, each of at most this many units.
MAX_LINES = 200
MAX_LINE_QUANTITY = 100_000
LINES_CHANGED = "lines_changed"
_CLOSED_ORDER = frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED})
_CLOSED_PLATFORM = frozenset({PlatformState.SHIPPED, PlatformState.CLOSED})


def order_is_closed(order: Order) -> bool:
    """Shipped or cancelled, here or on the platform: its lines and delivery details no longer
    change (the case page offers no correction for it)."""
    return order.status in _CLOSED_ORDER or order.platform_state in _CLOSED_PLATFORM


def _whole_quantity(value: Any) -> int | None:
    """`value` as a whole number of units from 1 to MAX_LINE_QUANTITY, else None (a form sends
    text, JSON a number: 2 and "2" and 2.0 are two units; 0, -1, 1.5, "1.5", true are none)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= MAX_LINE_QUANTITY else None


@dataclass
class LinesChange:
    """What `order_lines_change` did: the order as it is now, whether its lines changed (not:
    nothing was written) and the cases the re-check opened, updated and closed."""

    order: Order
    changed: bool
    triage: TriageResult


@transaction.atomic
def order_lines_change(
    *, order_id: int, actor: Actor, lines: Sequence[Mapping[str, Any]], reason: str = "", now: datetime
) -> LinesChange:
    """Replace an order's lines (H3.1: the buyer chose wrongly and now wants these) and run it
    again through what an import does: the checks, allocation (what the old lines held is given
    back first, and stock nobody takes again serves the orders waiting for it), triage. A
    product case (T3) whose findings went away resolves itself (``lines_changed``); a new SKU
    that is short opens a stock-out case (T1).

    `lines` are ``{"sku_code", "quantity"}``: each code a SKU of the order's merchant, active;
    each quantity a whole number from 1. The order is locked for the whole transaction. An
    ``corrected`` OrderEvent (`changed` ["lines"], before and after, the reason) and, on the
    order's open product case, a ``lines_changed`` CaseEvent. Lines equal to the current ones
    write nothing. Raises `NotFound` (missing, another merchant's) or `LinesRefused` (see its
    codes; the field names the line), nothing written.
    """
    order = visible(Order.objects.select_for_update(of=("self",)), actor).filter(pk=order_id).first()
    if order is None:
        raise NotFound("not found", model="Order", id=order_id)
    if not actor.is_staff_role:
        raise LinesRefused(code=LinesRefused.ROLE, role=actor.role)
    if order.anonymised_at is not None:
        raise LinesRefused(code=LinesRefused.ORDER_ANONYMISED)
    if order_is_closed(order):
        raise LinesRefused(code=LinesRefused.ORDER_CLOSED, status=order.status)
    if not lines or len(lines) > MAX_LINES:
        raise LinesRefused(code=LinesRefused.LINES_INVALID, field="lines", max_lines=MAX_LINES)
    codes = [str(line.get("sku_code") or "").strip() for line in lines]
    skus = {s.code: s for s in Sku.objects.filter(merchant_id=order.merchant_id, code__in=set(codes))}
    wanted: list[tuple[Sku, int]] = []
    for i, (code, line) in enumerate(zip(codes, lines, strict=True)):
        sku = skus.get(code)
        if sku is None:
            raise LinesRefused(code=LinesRefused.SKU_UNKNOWN, field=f"lines[{i}].sku_code", value=code[:100])
        if not sku.active:
            raise LinesRefused(code=LinesRefused.SKU_INACTIVE, field=f"lines[{i}].sku_code", value=code)
        quantity = _whole_quantity(line.get("quantity"))
        if quantity is None:
            raise LinesRefused(
                code=LinesRefused.QUANTITY_INVALID,
                field=f"lines[{i}].quantity",
                value=str(line.get("quantity"))[:20],
            )
        wanted.append((sku, quantity))
    old_lines = list(OrderLine.objects.filter(order=order).order_by("line_no"))
    before = [[li.sku_code, li.quantity] for li in old_lines]
    after = [[sku.code, quantity] for sku, quantity in wanted]
    if before == after:
        return LinesChange(order=order, changed=False, triage=TriageResult())
    oi = replace(
        stored_order_in(order, old_lines),
        lines=[
            LineIn(sku_code=sku.code, quantity=quantity, title=sku.name[:300]) for sku, quantity in wanted
        ],
    )
    text = reason.strip()[:REASON_MAX_LENGTH]

    def judge(items: list[OrderFindings], warehouse_id: int) -> TriageResult:
        # logged on the product case before the re-check may close it
        product_case = (
            ExceptionCase.objects.select_for_update(of=("self",))
            .filter(order=order, type=ExceptionType.PRODUCT_ERROR, status__in=OPEN_STATUSES)
            .first()
        )
        if product_case is not None:
            bulk.insert(
                [
                    case_events.lines_changed(
                        product_case,
                        at=now,
                        actor_label=actor.label,
                        actor_id=actor.user_id,
                        before=before,
                        after=after,
                        reason=text,
                    )
                ]
            )
        triage = cases_triage(
            items=items, now=now, actor_label=actor.label, policies=PolicyBook(), close_reason=LINES_CHANGED
        )
        stockout_notices_enqueue(
            cases=triage.opened, warehouse_id=warehouse_id, now=now, actor_label=actor.label
        )
        OrderEvent.objects.create(
            order=order,
            type=OrderEventType.CORRECTED,
            occurred_at=now,
            actor_id=actor.user_id,
            actor_label=actor.label,
            data={
                "changed": ["lines"],
                "before": before,
                "after": after,
                "reason": text,
                "status": order.status,
                "codes": [f["code"] for f in order.findings],
            },
        )
        return triage

    triage = _check_again(order, oi, now=now, actor_label=actor.label, reason=LINES_CHANGED, judge=judge)
    log.info("order %s lines changed", order.pk)
    return LinesChange(order=order, changed=True, triage=triage)
