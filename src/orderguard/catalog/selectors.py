"""Catalog reads."""

from __future__ import annotations

from orderguard.catalog.models import Sku


def sku_rows_for_matching(*, merchant_id: int) -> list[tuple[int, str, str, str, dict[str, str], bool]]:
    """(id, code, style_code, barcode, attributes, active) of every SKU of the merchant, for
    building the product matcher once per import."""
    return list(
        Sku.objects.filter(merchant_id=merchant_id).values_list(
            "pk", "code", "style_code", "barcode", "attributes", "active"
        )
    )
