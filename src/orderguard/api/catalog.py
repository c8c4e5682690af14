"""Catalog and stock API: SKUs and stock levels, read-only, scoped to what the caller may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_LIMIT, MAX_OFFSET, object_id
from orderguard.catalog.models import Sku
from orderguard.catalog.selectors import sku_get, skus_search
from orderguard.core import clock
from orderguard.inventory.models import StockLevel
from orderguard.inventory.selectors import StockFigures, stock_figures, stock_levels

skus_router = Router(tags=["catalog"], auth=AUTH)
stock_router = Router(tags=["stock"], auth=AUTH)

# No NUL: no stored value contains one, and PostgreSQL refuses it in a query.
NO_NUL = r"^[^\x00]*$"
# Merchant and warehouse codes are slugs.
SLUG = r"^[-a-zA-Z0-9_]*$"


class SkuOut(Schema):
    id: int
    merchant: str = Field(description="The merchant's code")
    code: str
    title: str
    style_code: str
    attributes: dict[str, Any] = Field(
        description="Normalised variant attributes (colour, size, spec, style…)"
    )
    barcodes: list[str]
    is_bundle: bool
    active: bool


class SkuPageOut(Schema):
    total: int
    items: list[SkuOut]


class SkuFilters(Schema):
    q: str = Field(
        "",
        max_length=100,
        pattern=NO_NUL,
        description="Part of the SKU code or title, or a style code or barcode",
    )
    merchant: str = Field("", max_length=50, pattern=SLUG, description="A merchant's code")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class StockOut(Schema):
    id: int
    merchant: str = Field(description="The merchant's code")
    warehouse: str = Field(description="The warehouse's code")
    sku_id: int
    sku: str = Field(description="The SKU's code")
    on_hand: int
    allocated: int
    available: int = Field(description="on_hand - allocated")
    safety_stock: int
    below_safety_stock: bool = Field(description="available < safety_stock")
    inbound_quantity: int
    inbound_eta: datetime | None
    open_demand: int = Field(description="Units orders to ship still lack here (held or back-ordered)")
    daily_demand: float = Field(description="Units allocated per day over the last 14 days")
    days_of_cover: float | None = Field(
        description="(available - open_demand) / daily_demand; null without recent demand"
    )
    stockout_expected_at: datetime | None
    cover_warning: bool = Field(description="Runs out within 3 days, before any inbound stock arrives")


class StockPageOut(Schema):
    total: int
    items: list[StockOut]


class StockFilters(Schema):
    sku: str = Field("", max_length=100, pattern=NO_NUL, description="A SKU code (exact)")
    warehouse: str = Field("", max_length=50, pattern=SLUG, description="A warehouse's code")
    low: bool = Field(False, description="Only rows whose available stock is below their safety stock")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _sku(s: Sku) -> dict[str, Any]:
    return {
        "id": s.pk,
        "merchant": s.merchant.code,
        "code": s.code,
        "title": s.name,
        "style_code": s.style_code,
        "attributes": s.attributes or {},
        "barcodes": [s.barcode] if s.barcode else [],
        "is_bundle": s.is_bundle,
        "active": s.active,
    }


def _stock(row: StockLevel, figures: StockFigures) -> dict[str, Any]:
    return {
        "id": row.pk,
        "merchant": row.merchant.code,
        "warehouse": row.warehouse.code,
        "sku_id": row.sku_id,
        "sku": row.sku.code,
        "on_hand": row.on_hand,
        "allocated": row.allocated,
        "available": row.available,
        "safety_stock": row.safety_stock,
        "below_safety_stock": row.available < row.safety_stock,
        "inbound_quantity": row.inbound_quantity,
        "inbound_eta": row.inbound_eta,
        "open_demand": figures.open_demand,
        "daily_demand": figures.daily_demand,
        "days_of_cover": figures.days_of_cover,
        "stockout_expected_at": figures.stockout_at,
        "cover_warning": figures.cover_warning,
    }


@skus_router.get("", response=with_errors({200: SkuPageOut}, *AUTHENTICATED), summary="Search SKUs")
def list_skus(request: HttpRequest, filters: Query[SkuFilters]) -> dict[str, Any]:
    """By merchant, then SKU code."""
    reject_unknown_query(request, SkuFilters)
    qs = skus_search(actor=actor(request), q=filters.q, merchant=filters.merchant)
    page = qs[filters.offset : filters.offset + filters.limit]
    return {"total": qs.count(), "items": [_sku(s) for s in page]}


@skus_router.get("/{sku_id}", response=with_errors({200: SkuOut}, *AUTHENTICATED, 404), summary="Get a SKU")
def get_sku(request: HttpRequest, sku_id: int = object_id("The SKU's id")) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    return _sku(sku_get(actor=actor(request), sku_id=sku_id))


@stock_router.get("", response=with_errors({200: StockPageOut}, *AUTHENTICATED), summary="Stock levels")
def list_stock(request: HttpRequest, filters: Query[StockFilters]) -> dict[str, Any]:
    """One row per SKU and warehouse, by warehouse, then SKU code."""
    reject_unknown_query(request, StockFilters)
    qs = stock_levels(actor=actor(request), sku=filters.sku, warehouse=filters.warehouse, low=filters.low)
    page = list(qs[filters.offset : filters.offset + filters.limit])
    figures = stock_figures(levels=page, now=clock.now())
    return {"total": qs.count(), "items": [_stock(row, figures[row.pk]) for row in page]}
