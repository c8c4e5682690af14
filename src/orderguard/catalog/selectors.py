"""Catalog reads."""

from __future__ import annotations

from typing import Any

from django.db import models

from orderguard.catalog.models import BundleItem, Sku
from orderguard.tenancy.access import Actor, get_visible, visible


def sku_rows_for_matching(*, merchant_id: int) -> list[tuple[int, str, str, str, dict[str, str], bool]]:
    """(id, code, style_code, barcode, attributes, active) of every SKU of the merchant, for
    building the product matcher once per import."""
    return list(
        Sku.objects.filter(merchant_id=merchant_id).values_list(
            "pk", "code", "style_code", "barcode", "attributes", "active"
        )
    )


def bundle_components_for_matching(*, merchant_id: int) -> dict[int, tuple[int, ...]]:
    """Bundle SKU id → its component SKU ids (in component id order), for the product matcher."""
    components: dict[int, list[int]] = {}
    for bundle_id, component_id in (
        BundleItem.objects.filter(bundle__merchant_id=merchant_id)
        .order_by("bundle_id", "component_id")
        .values_list("bundle_id", "component_id")
    ):
        components.setdefault(bundle_id, []).append(component_id)
    return {bundle_id: tuple(ids) for bundle_id, ids in components.items()}


def catalog_records_for_matching(*, merchant_id: int) -> list[dict[str, Any]]:
    """Every SKU of the merchant as the product matcher's record fields (`SkuRecord`), with
    its bundle components: two queries, once per import."""
    components = bundle_components_for_matching(merchant_id=merchant_id)
    return [
        {
            "id": pk,
            "code": code,
            "style_code": style,
            "barcode": barcode,
            "attributes": attrs or {},
            "active": active,
            "components": components.get(pk, ()),
        }
        for pk, code, style, barcode, attrs, active in sku_rows_for_matching(merchant_id=merchant_id)
    ]


def skus_search(*, actor: Actor, q: str = "", merchant: str = "") -> models.QuerySet[Sku]:
    """The SKUs `actor` may see, by merchant and code. `q` matches the code or name (contains,
    any case) or the style code or barcode (exactly); `merchant` is a merchant code (a merchant
    user naming another merchant gets nothing)."""
    qs = visible(Sku.objects.select_related("merchant"), actor)
    if merchant:
        qs = qs.filter(merchant__code=merchant)
    if q:
        qs = qs.filter(
            models.Q(code__icontains=q)
            | models.Q(name__icontains=q)
            | models.Q(style_code=q)
            | models.Q(barcode=q)
        )
    return qs.order_by("merchant__code", "code", "pk")


def sku_get(*, actor: Actor, sku_id: int) -> Sku:
    """The SKU `sku_id` if `actor` may see it; `NotFound` alike for missing and not theirs."""
    return get_visible(Sku.objects.select_related("merchant"), actor, sku_id)
