"""Catalog writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from orderguard.catalog.attributes import normalise_attributes
from orderguard.catalog.models import BundleItem, Sku

FLAT_ATTRIBUTES = ("colour", "size", "spec", "style")


@dataclass(slots=True)
class SkuIn:
    code: str
    name: str = ""
    style_code: str = ""
    barcode: str = ""
    attributes: dict[str, str] = field(default_factory=dict)  # as written; normalised here
    active: bool = True
    components: list[tuple[str, int]] = field(default_factory=list)  # bundle: (sku code, qty)


@dataclass
class SkuUpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # (index in input, component code) of bundle components that are not in the catalog
    missing_components: list[tuple[int, str]] = field(default_factory=list)


@transaction.atomic
def skus_upsert(*, merchant_id: int, skus: Sequence[SkuIn]) -> SkuUpsertResult:
    """Create or update SKUs by (merchant, code), in batch. Attributes are normalised
    (`catalog.attributes`) and the four usual ones copied to their columns. A bundle's
    components must exist (in the catalog or in the same input); a bundle naming one that does
    not is reported in `missing_components` and not written at all."""
    result = SkuUpsertResult()
    component_codes = {c for item in skus for c, _q in item.components}
    known_codes = {item.code for item in skus} | set(
        Sku.objects.filter(merchant_id=merchant_id, code__in=component_codes).values_list("code", flat=True)
    )
    writable: list[SkuIn] = []
    for i, item in enumerate(skus):
        missing = [c for c, _q in item.components if c not in known_codes]
        if missing:
            result.missing_components.extend((i, c) for c in missing)
        else:
            writable.append(item)
    existing = {
        s.code: s for s in Sku.objects.filter(merchant_id=merchant_id, code__in=[s.code for s in writable])
    }
    create: list[Sku] = []
    update: list[Sku] = []
    for item in writable:
        attrs = normalise_attributes(item.attributes)
        values = {
            "name": item.name,
            "style_code": item.style_code,
            "barcode": item.barcode,
            "attributes": attrs,
            "active": item.active,
            "is_bundle": bool(item.components),
            **{k: attrs.get(k, "") for k in FLAT_ATTRIBUTES},
        }
        sku = existing.get(item.code)
        if sku is None:
            sku = Sku(merchant_id=merchant_id, code=item.code, **values)
            create.append(sku)
            existing[item.code] = sku
        elif any(getattr(sku, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(sku, k, v)
            update.append(sku)
        else:
            result.unchanged += 1
    Sku.objects.bulk_create(create, batch_size=1000)
    if update:
        Sku.objects.bulk_update(
            update,
            [
                "name",
                "style_code",
                "barcode",
                "attributes",
                "active",
                "is_bundle",
                *FLAT_ATTRIBUTES,
                "updated_at",
            ],
            batch_size=500,
        )
    result.created, result.updated = len(create), len(update)

    bundles = [item for item in writable if item.components]
    if bundles:
        ids = dict(
            Sku.objects.filter(merchant_id=merchant_id, code__in=component_codes).values_list("code", "pk")
        )
        BundleItem.objects.filter(bundle__in=[existing[b.code] for b in bundles]).delete()
        BundleItem.objects.bulk_create(
            [
                BundleItem(bundle=existing[b.code], component_id=ids[c], quantity=q)
                for b in bundles
                for c, q in b.components
            ]
        )
    return result
