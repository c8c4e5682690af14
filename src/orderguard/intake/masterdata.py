"""Imports of the catalog (SKUs with attributes, bundles), stock levels and master data
(warehouses, merchants, channels, couriers). Layouts: docs/formats/catalog.md, stock.md,
masterdata.md. Every rejected row is an ImportRowError naming file, row and field; good rows
are written in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from orderguard.catalog.models import Courier, Sku, Warehouse
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.core import clock
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.columns import Column, boolean, moment, non_negative, parse_row, resolve_headers, text
from orderguard.intake.errors import FileRejected, RowError
from orderguard.intake.models import ImportBatch, ImportKind, ImportRowError, ImportStatus
from orderguard.intake.services import files_digest
from orderguard.intake.tabular import BadRow, read_table
from orderguard.inventory.services import (
    MoveIn,
    MovesResult,
    StockIn,
    StockMoveRefused,
    move_error_message,
    stock_levels_set,
    stock_moves_apply,
)
from orderguard.orders.choices import Platform
from orderguard.orders.models import Channel
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Merchant


def _components(value: str) -> list[tuple[str, int]]:
    """ "A001*2;B002" → [("A001", 2), ("B002", 1)]"""
    out = []
    for part in value.replace("；", ";").replace("，", ";").replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        code, _sep, qty = part.replace("×", "*").replace("x", "*").partition("*")
        number = non_negative(qty) if qty else 1
        if number == 0:
            raise ValueError(_("组合数量必须大于 0"))
        out.append((code.strip(), number))
    return out


def _attributes(value: str) -> dict[str, str]:
    """ "颜色:红;尺码:XL" → {"颜色": "红", "尺码": "XL"}"""
    out = {}
    for part in value.replace("；", ";").split(";"):
        if not part.strip():
            continue
        key, sep, val = part.replace("：", ":").partition(":")
        if not sep:
            raise ValueError(_("属性应写成 名称:值，多个用分号分隔"))
        out[key.strip()] = val.strip()
    return out


CATALOG_COLUMNS = (
    Column("sku", ("sku_code", "SKU编码", "商家编码", "商品编码"), required=True, parse=text),
    Column("name", ("名称", "商品名称"), parse=text),
    Column("style_code", ("款号", "货号", "spu"), parse=text),
    Column("colour", ("color", "颜色"), parse=text),
    Column("size", ("尺码", "尺寸"), parse=text),
    Column("spec", ("规格", "型号"), parse=text),
    Column("style", ("款式",), parse=text),
    Column("attributes", ("属性", "其他属性"), parse=_attributes),
    Column("barcode", ("条码", "条形码"), parse=text),
    Column("active", ("启用", "状态"), parse=boolean),
    Column("components", ("组合明细", "bundle"), parse=_components),
)

STOCK_COLUMNS = (
    Column("warehouse", ("仓库", "仓库编码"), required=True, parse=text),
    Column("sku", ("sku_code", "SKU编码", "商家编码"), required=True, parse=text),
    Column("on_hand", ("在库", "库存", "实物库存"), parse=non_negative),
    Column("safety_stock", ("安全库存",), parse=non_negative),
    Column("inbound_quantity", ("在途", "在途数量"), parse=non_negative),
    Column("inbound_eta", ("预计到货", "到货时间"), parse=moment),
)


def _start(
    kind: str, files: Sequence[SourceFile], merchant: Merchant | None, actor_label: str
) -> ImportBatch:
    return ImportBatch.objects.create(
        kind=kind,
        merchant=merchant,
        format="table",
        file_names=[f.name for f in files],
        sha256=files_digest(files),
        actor_label=actor_label,
        started_at=clock.now(),
    )


def _finish(batch: ImportBatch, errors: list[RowError], failed: bool = False) -> ImportBatch:
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
            for e in errors
        ],
        batch_size=1000,
    )
    batch.rows_failed = len(errors)
    batch.status = ImportStatus.FAILED if failed else ImportStatus.DONE
    batch.finished_at = clock.now()
    batch.save()
    return batch


def _rows(
    file: SourceFile, columns: Sequence[Column], errors: list[RowError]
) -> Iterator[tuple[int, dict[str, Any]]]:
    table = read_table(file)
    headers = resolve_headers(table.headers, columns, file=file.name)
    for item in table.rows:
        if isinstance(item, BadRow):
            errors.append(item.error)
            continue
        row_no, raw = item
        values, row_errors = parse_row(raw, columns=columns, headers=headers, file=file.name, row=row_no)
        if row_errors:
            errors.extend(row_errors)
            continue
        yield row_no, values


def _duplicate(file: str, row: int, field: str, first: int) -> RowError:
    return RowError(
        file=file,
        row=row,
        field=field,
        code="DUPLICATE_ROW",
        message=_("%(file)s 第 %(row)d 行与第 %(first)d 行重复（%(field)s 相同）")
        % {"file": file, "row": row, "first": first, "field": field},
    )


def catalog_import(
    *,
    file: SourceFile,
    merchant: Merchant,
    actor_label: str = "system:intake",
    batch: ImportBatch | None = None,
) -> ImportBatch:
    """Import SKUs of one merchant (upsert by SKU code). `batch`: one created beforehand, used as given."""
    batch = batch or _start(ImportKind.CATALOG, [file], merchant, actor_label)
    errors: list[RowError] = []
    try:
        skus: list[SkuIn] = []
        rows: list[int] = []
        seen: dict[str, int] = {}
        for row_no, v in _rows(file, CATALOG_COLUMNS, errors):
            if v["sku"] in seen:
                errors.append(_duplicate(file.name, row_no, "sku", seen[v["sku"]]))
                continue
            seen[v["sku"]] = row_no
            attrs = dict(v.get("attributes", {}))
            for key in ("colour", "size", "spec", "style"):
                if v.get(key):
                    attrs[key] = v[key]
            skus.append(
                SkuIn(
                    code=v["sku"],
                    name=v.get("name", ""),
                    style_code=v.get("style_code", ""),
                    barcode=v.get("barcode", ""),
                    attributes=attrs,
                    active=v.get("active", True),
                    components=v.get("components", []),
                )
            )
            rows.append(row_no)
        result = skus_upsert(merchant_id=merchant.pk, skus=skus)
        for index, code in result.missing_components:
            errors.append(
                RowError(
                    file=file.name,
                    row=rows[index],
                    field="components",
                    code="COMPONENT_UNKNOWN",
                    message=_("%(file)s 第 %(row)d 行：组合明细中的 SKU %(code)s 不存在")
                    % {"file": file.name, "row": rows[index], "code": code},
                    value=code,
                )
            )
        batch.rows_total = len(skus)
        batch.created, batch.updated, batch.unchanged = result.created, result.updated, result.unchanged
    except FileRejected as exc:
        errors.append(exc.error)
        return _finish(batch, errors, failed=True)
    return _finish(batch, errors)


def stock_import(
    *,
    file: SourceFile,
    merchant: Merchant,
    actor_label: str = "system:intake",
    batch: ImportBatch | None = None,
) -> ImportBatch:
    """Import counted stock levels of one merchant's SKUs (by warehouse code and SKU code).
    `batch`: one created beforehand, used as given."""
    batch = batch or _start(ImportKind.STOCK, [file], merchant, actor_label)
    errors: list[RowError] = []
    try:
        parsed = list(_rows(file, STOCK_COLUMNS, errors))
        warehouses = {
            w.code: w.pk for w in Warehouse.objects.filter(code__in={v["warehouse"] for _r, v in parsed})
        }
        skus = {
            s.code: s.pk
            for s in Sku.objects.filter(merchant=merchant, code__in={v["sku"] for _r, v in parsed})
        }
        lines: list[StockIn] = []
        rows: list[int] = []
        seen: dict[tuple[str, str], int] = {}
        for row_no, v in parsed:
            key = (v["warehouse"], v["sku"])
            if key in seen:
                errors.append(_duplicate(file.name, row_no, "warehouse+sku", seen[key]))
                continue
            seen[key] = row_no
            if v["warehouse"] not in warehouses:
                errors.append(_unknown(file.name, row_no, "warehouse", v["warehouse"]))
                continue
            if v["sku"] not in skus:
                errors.append(_unknown(file.name, row_no, "sku", v["sku"]))
                continue
            lines.append(
                StockIn(
                    warehouse_id=warehouses[v["warehouse"]],
                    sku_id=skus[v["sku"]],
                    on_hand=v.get("on_hand"),
                    safety_stock=v.get("safety_stock"),
                    inbound_quantity=v.get("inbound_quantity"),
                    inbound_eta=v.get("inbound_eta"),
                )
            )
            rows.append(row_no)
        with transaction.atomic():
            result = stock_levels_set(
                merchant_id=merchant.pk, lines=lines, now=clock.now(), actor_label=actor_label
            )
        for index, (field, allocated) in result.refused.items():
            errors.append(
                RowError(
                    file=file.name,
                    row=rows[index],
                    field=field,
                    code="BELOW_ALLOCATED",
                    message=_("%(file)s 第 %(row)d 行：在库数量低于已分配给订单的 %(allocated)d 件")
                    % {"file": file.name, "row": rows[index], "allocated": allocated},
                )
            )
        batch.rows_total = len(lines)
        batch.created, batch.updated = result.created, result.updated - len(result.refused)
    except FileRejected as exc:
        errors.append(exc.error)
        return _finish(batch, errors, failed=True)
    return _finish(batch, errors)


def _unknown(file: str, row: int, field: str, value: str) -> RowError:
    return RowError(
        file=file,
        row=row,
        field=field,
        code="UNKNOWN_REFERENCE",
        message=_("%(file)s 第 %(row)d 行：%(field)s “%(value)s” 不存在")
        % {"file": file, "row": row, "field": field, "value": value},
        value=value,
    )


# --- master data: JSON {"warehouses": [...], "merchants": [...], "channels": [...], "couriers": [...]}
# or an XLSX workbook with one sheet per section (sheet names as the keys, or 仓库/商家/渠道/快递).

SECTIONS: dict[str, tuple[Column, ...]] = {
    "warehouses": (
        Column("code", ("编码",), required=True, parse=text),
        Column("name", ("名称",), required=True, parse=text),
        Column("alert_email", ("预警邮箱",), parse=text),
    ),
    "merchants": (
        Column("code", ("编码",), required=True, parse=text),
        Column("name", ("名称",), required=True, parse=text),
        Column("contact_email", ("联系邮箱",), parse=text),
    ),
    "channels": (
        Column("code", ("编码",), required=True, parse=text),
        Column("name", ("名称",), required=True, parse=text),
        Column("platform", ("平台",), required=True, parse=text),
        Column("merchant", ("商家",), required=True, parse=text),
        Column("warehouse", ("仓库",), required=True, parse=text),
        Column("signing_secret", ("签名密钥",), parse=text),
    ),
    "couriers": (
        Column("code", ("编码",), required=True, parse=text),
        Column("name", ("名称",), required=True, parse=text),
        Column(
            "aliases",
            ("别名",),
            parse=lambda v: [a.strip() for a in v.replace("，", ",").split(",") if a.strip()],
        ),
    ),
}
SHEET_ALIASES = {
    "仓库": "warehouses",
    "商家": "merchants",
    "渠道": "channels",
    "快递": "couriers",
    "快递公司": "couriers",
}


def _masterdata_rows(file: SourceFile) -> Iterator[tuple[str, int, dict[str, str]] | RowError]:
    """(section, row number, raw values), or a RowError for an unreadable row, from a JSON
    document or a workbook."""
    if file.data.lstrip()[:1] in (b"{", b"["):
        try:
            doc = json.loads(file.data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FileRejected(
                file=file.name,
                code="FILE_JSON_INVALID",
                message=_("%(file)s 不是有效的 JSON：%(err)s") % {"file": file.name, "err": exc},
            ) from None
        if not isinstance(doc, dict):
            raise FileRejected(
                file=file.name,
                code="FILE_LAYOUT",
                message=_("%(file)s 应为包含 warehouses/merchants/channels/couriers 的对象")
                % {"file": file.name},
            )
        for section in SECTIONS:
            items = doc.get(section) or []
            if not isinstance(items, list):
                yield RowError(
                    file=file.name,
                    row=0,
                    field=section,
                    code="SECTION_NOT_LIST",
                    message=_("%(file)s：%(section)s 应为对象列表") % {"file": file.name, "section": section},
                    value=str(items)[:80],
                )
                continue
            for i, item in enumerate(items, start=1):
                if not isinstance(item, dict):
                    yield RowError(
                        file=file.name,
                        row=i,
                        field=section,
                        code="ROW_NOT_OBJECT",
                        message=_("%(file)s：%(section)s 的第 %(row)d 项应为对象")
                        % {"file": file.name, "section": section, "row": i},
                        value=str(item)[:80],
                    )
                    continue
                yield (
                    section,
                    i,
                    {
                        str(k): (
                            "" if v is None else (",".join(map(str, v)) if isinstance(v, list) else str(v))
                        )
                        for k, v in item.items()
                    },
                )
        return
    from orderguard.intake.tabular import read_workbook_sheets

    for sheet, table in read_workbook_sheets(file):
        section = SHEET_ALIASES.get(sheet.strip(), sheet.strip().lower())
        if section not in SECTIONS:
            continue
        for item in table.rows:
            if isinstance(item, BadRow):
                yield item.error
            else:
                yield section, item[0], item[1]


def masterdata_import(*, file: SourceFile, actor_label: str = "system:intake") -> ImportBatch:
    """Create or update warehouses, merchants, channels and couriers by code. Sections are
    applied in dependency order, so a channel may name a merchant defined in the same file."""
    batch = _start(ImportKind.MASTERDATA, [file], None, actor_label)
    errors: list[RowError] = []
    try:
        by_section: dict[str, list[tuple[int, dict[str, Any]]]] = {s: [] for s in SECTIONS}
        seen: dict[str, dict[str, int]] = {s: {} for s in SECTIONS}
        for item in _masterdata_rows(file):
            if isinstance(item, RowError):
                errors.append(item)
                continue
            section, row_no, raw = item
            columns = SECTIONS[section]
            headers = {
                c.key: h
                for c in columns
                for h in raw
                if h.strip().lower() in {c.key, *(a.lower() for a in c.aliases)}
            }
            values, row_errors = parse_row(raw, columns=columns, headers=headers, file=file.name, row=row_no)
            row_errors = [
                RowError(
                    file=e.file,
                    row=e.row,
                    field=f"{section}.{e.field}",
                    code=e.code,
                    message=f"[{section}] {e.message}",
                    value=e.value,
                )
                for e in row_errors
            ]
            if not row_errors:
                row_errors = _field_errors(section, values, file.name, row_no)
            if row_errors:
                errors.extend(row_errors)
                continue
            first = seen[section].get(values["code"])
            if first is not None:
                errors.append(_duplicate(file.name, row_no, f"{section}.code", first))
                continue
            seen[section][values["code"]] = row_no
            by_section[section].append((row_no, values))
        created = updated = 0
        with transaction.atomic():
            for section, apply in _APPLY.items():
                c, u = apply(by_section[section], file.name, errors)
                created, updated = created + c, updated + u
        batch.rows_total = sum(len(v) for v in by_section.values())
        batch.created, batch.updated = created, updated
    except FileRejected as exc:
        errors.append(exc.error)
        return _finish(batch, errors, failed=True)
    return _finish(batch, errors)


SECTION_MODELS: dict[str, Any] = {
    "warehouses": Warehouse,
    "merchants": Merchant,
    "channels": Channel,
    "couriers": Courier,
}
# references resolved later (by code), not validated as the model field
REFERENCES = {"merchant", "warehouse"}
# values never repeated in an error record (it is shown on pages and downloaded)
SECRETS = {"signing_secret"}


def _field_errors(section: str, values: dict[str, Any], file: str, row: int) -> list[RowError]:
    """Each value checked by its model field (slug codes, e-mail addresses, lengths), so what
    the database or a later page would refuse is refused here, with the row and field."""
    model = SECTION_MODELS[section]
    errors = []
    for name, value in values.items():
        if name in REFERENCES:
            continue
        try:
            model._meta.get_field(name).clean(value, None)
        except ValidationError as exc:
            if name in SECRETS:
                errors.append(_secret_error(exc, section, name, file, row))
                continue
            errors.append(
                RowError(
                    file=file,
                    row=row,
                    field=f"{section}.{name}",
                    code="FIELD_INVALID",
                    message=_(
                        "%(file)s 第 %(row)d 行：[%(section)s] %(field)s 的值 “%(value)s” 无效：%(reason)s"
                    )
                    % {
                        "file": file,
                        "row": row,
                        "section": section,
                        "field": name,
                        "value": str(value)[:50],
                        "reason": " ".join(str(m) for m in exc.messages),
                    },
                    value=str(value)[:300],
                )
            )
    return errors


def _secret_error(exc: ValidationError, section: str, name: str, file: str, row: int) -> RowError:
    short = any(e.code == "secret_too_short" for e in exc.error_list)
    return RowError(
        file=file,
        row=row,
        field=f"{section}.{name}",
        code="SECRET_TOO_SHORT" if short else "FIELD_INVALID",
        message=_("%(file)s 第 %(row)d 行：[%(section)s] %(field)s 无效：%(reason)s")
        % {
            "file": file,
            "row": row,
            "section": section,
            "field": name,
            "reason": " ".join(str(m) for m in exc.messages),
        },
    )


def _upsert(model: Any, rows: list[tuple[int, dict[str, Any]]], fields: Sequence[str]) -> tuple[int, int]:
    """Create by code, or update only what differs; returns (created, updated)."""
    existing = {o.code: o for o in model.objects.filter(code__in=[v["code"] for _r, v in rows])}
    created = updated = 0
    for _row, v in rows:
        values = {f: v[f] for f in fields if f in v}
        obj = existing.get(v["code"])
        if obj is None:
            model.objects.create(code=v["code"], **values)
            created += 1
        elif any(getattr(obj, f) != value for f, value in values.items()):
            for f, value in values.items():
                setattr(obj, f, value)
            obj.save()
            updated += 1
    return created, updated


def _apply_channels(
    rows: list[tuple[int, dict[str, Any]]], file: str, errors: list[RowError]
) -> tuple[int, int]:
    merchants = {m.code: m for m in Merchant.objects.filter(code__in={v["merchant"] for _r, v in rows})}
    warehouses = {w.code: w for w in Warehouse.objects.filter(code__in={v["warehouse"] for _r, v in rows})}
    ok = []
    for row, v in rows:
        if v["platform"] not in Platform.values:
            errors.append(
                RowError(
                    file=file,
                    row=row,
                    field="channels.platform",
                    code="FIELD_INVALID",
                    message=_("%(file)s 第 %(row)d 行：平台 “%(value)s” 无效，可选 %(choices)s")
                    % {
                        "file": file,
                        "row": row,
                        "value": v["platform"],
                        "choices": ", ".join(Platform.values),
                    },
                    value=v["platform"],
                )
            )
        elif v["merchant"] not in merchants:
            errors.append(_unknown(file, row, "channels.merchant", v["merchant"]))
        elif v["warehouse"] not in warehouses:
            errors.append(_unknown(file, row, "channels.warehouse", v["warehouse"]))
        elif (
            Channel.objects.filter(code=v["code"], orders__isnull=False)
            .exclude(merchant__code=v["merchant"])
            .exists()
        ):
            # the channel's orders belong to its merchant: moving it would hand them over
            errors.append(
                RowError(
                    file=file,
                    row=row,
                    field="channels.merchant",
                    code="CHANNEL_IN_USE",
                    message=_("%(file)s 第 %(row)d 行：渠道 %(code)s 已有订单，不能改到另一个商家")
                    % {"file": file, "row": row, "code": v["code"]},
                    value=v["merchant"],
                )
            )
        else:
            v = {**v, "merchant": merchants[v["merchant"]], "warehouse": warehouses[v["warehouse"]]}
            ok.append((row, v))
    return _upsert(Channel, ok, ("name", "platform", "merchant", "warehouse", "signing_secret"))


_APPLY: dict[str, Callable[[list[tuple[int, dict[str, Any]]], str, list[RowError]], tuple[int, int]]] = {
    "warehouses": lambda rows, _f, _e: _upsert(Warehouse, rows, ("name", "alert_email")),
    "merchants": lambda rows, _f, _e: _upsert(Merchant, rows, ("name", "contact_email")),
    "channels": _apply_channels,
    "couriers": lambda rows, _f, _e: _upsert(Courier, rows, ("name", "aliases")),
}


# --- stock moves: receipts, adjustments, counts, transfers (docs/formats/stock-moves.md) ---

MOVE_KINDS = {
    "receipt": "receipt",
    "入库": "receipt",
    "收货": "receipt",
    "adjustment": "adjustment",
    "调整": "adjustment",
    "count": "count",
    "盘点": "count",
    "transfer": "transfer",
    "调拨": "transfer",
}


def _move_kind(value: str) -> str:
    kind = MOVE_KINDS.get(value.strip().lower())
    if kind is None:
        raise ValueError(_("类型应为入库、调整、盘点或调拨"))
    return kind


MOVE_COLUMNS = (
    Column("type", ("类型", "操作"), required=True, parse=_move_kind),
    Column("warehouse", ("仓库", "仓库编码", "调出仓库"), required=True, parse=text),
    Column("sku", ("sku_code", "SKU编码", "商家编码"), required=True, parse=text),
    Column("quantity", ("数量",), required=True, parse=text),
    Column("to_warehouse", ("调入仓库",), parse=text),
    Column("reason", ("原因", "备注"), parse=text),
)


def stock_moves_import(
    *, file: SourceFile, merchant: Merchant, actor: Actor, now: datetime
) -> tuple[MovesResult | None, list[RowError]]:
    """Apply a file of stock moves of one merchant, all or none (`stock_moves_apply`).

    Returns (result, []) when every row was applied, or (None, errors) with every problem
    naming its row and field (a cell that cannot be read, an unknown warehouse or SKU, a
    fractional or negative quantity, a transfer from a warehouse without the stock...): then
    nothing at all was written.
    """
    errors: list[RowError] = []
    try:
        parsed = list(_rows(file, MOVE_COLUMNS, errors))
    except FileRejected as exc:
        return None, [exc.error]
    if errors:
        return None, errors
    if not parsed:
        return None, [
            RowError(
                file=file.name,
                row=0,
                field="",
                code="FILE_EMPTY",
                message=_("文件 %(file)s 是空的") % {"file": file.name},
            )
        ]
    moves = [
        MoveIn(
            v["type"],
            v["warehouse"],
            v["sku"],
            v["quantity"],
            to_warehouse=v.get("to_warehouse", ""),
            reason=v.get("reason", ""),
        )
        for _row, v in parsed
    ]
    try:
        result = stock_moves_apply(merchant_id=merchant.pk, moves=moves, now=now, actor=actor)
    except StockMoveRefused as exc:
        return None, [
            RowError(
                file=file.name,
                row=parsed[e.index][0] if e.index >= 0 else 0,
                field=e.field,
                code=e.code,
                message=_("%(file)s 第 %(row)d 行：%(message)s")
                % {
                    "file": file.name,
                    "row": parsed[e.index][0] if e.index >= 0 else 0,
                    "message": move_error_message(e),
                },
                value=str(e.data.get("value", ""))[:100],
            )
            for e in exc.errors
        ]
    return result, []
