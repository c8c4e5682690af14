"""Catalog reads."""

from __future__ import annotations

from django.db import models

from orderguard.catalog.models import Sku
from orderguard.tenancy.access import Actor, get_visible, visible


def sku_rows_for_matching(*, merchant_id: int) -> list[tuple[int, str, str, str, dict[str, str], bool]]:
    """(id, code, style_code, barcode, attributes, active) of every SKU of the merchant, for
    building the product matcher once per import."""
    return list(
        Sku.objects.filter(merchant_id=merchant_id).values_list(
            "pk", "code", "style_code", "barcode", "attributes", "active"
        )
    )


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
