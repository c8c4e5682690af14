"""Courier contracts are kept in the admin; regions must be a list of names (H5.1)."""

from __future__ import annotations

import pytest

from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.specials.admin import CourierContractForm
from orderguard.specials.models import CourierContract

pytestmark = pytest.mark.django_db


def _form(regions: str, fee: str = "12"):  # type: ignore[no-untyped-def]
    warehouse = WarehouseFactory()
    return CourierContractForm(
        data={
            "warehouse": warehouse.pk,
            "courier": "SF",
            "active": "on",
            "regions": regions,
            "designated_fee": fee,
            "expedited_fee": "20",
            "cutoff": "16:00",
            "expedited_capacity": "5",
            "note": "",
        }
    )


def test_a_contract_with_regions_is_saved_with_the_names_trimmed():
    form = _form('[" 广东省", "杭州市"]')

    assert form.is_valid(), form.errors
    assert form.save().regions == ["广东省", "杭州市"]


@pytest.mark.parametrize(
    ("regions", "fee", "field"),
    [('"广东省"', "12", "regions"), ("[1]", "12", "regions"), ("[]", "-1", "designated_fee")],
)
def test_bad_regions_or_a_negative_fee_name_the_field_and_save_nothing(regions, fee, field):
    form = _form(regions, fee)

    assert form.is_valid() is False
    assert list(form.errors) == [field]
    assert CourierContract.objects.count() == 0
