from datetime import time
from decimal import Decimal

import factory

from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.orders.schema import OrderIn
from orderguard.orders.tests.factories import OrderFactory
from orderguard.specials.models import CourierContract
from orderguard.validation.special import check_special


class CourierContractFactory(factory.django.DjangoModelFactory):
    """An active SF contract serving Guangdong: 12 yuan designated, 20 yuan expedited, cut-off
    16:00, two expedited parcels a day."""

    class Meta:
        model = CourierContract

    warehouse = factory.SubFactory(WarehouseFactory)
    courier = "SF"
    active = True
    regions = factory.LazyFunction(lambda: ["广东省"])
    designated_fee = Decimal("12.00")
    expedited_fee = Decimal("20.00")
    cutoff = time(16, 0)
    expedited_capacity = 2


def special_case(*, note="请发顺丰", province="广东省", city="深圳市", opened_at, warehouse=None, **order):  # type: ignore[no-untyped-def]
    """An open T5 case on an order whose buyer note asks for something (findings as the checks
    give them), in step "assess_feasibility"."""
    extra = {"channel__warehouse": warehouse} if warehouse is not None else {}
    o = OrderFactory(buyer_note=note, province=province, city=city, **extra, **order)
    findings = [
        f.as_dict() for f in check_special(OrderIn(platform_order_id=o.platform_order_id, buyer_note=note))
    ]
    return ExceptionCaseFactory(
        order=o, type="T5", step="assess_feasibility", findings=findings, opened_at=opened_at
    )
