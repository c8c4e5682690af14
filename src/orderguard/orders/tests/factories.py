from datetime import UTC, datetime, timedelta

import factory

from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.orders.choices import Platform
from orderguard.orders.models import Channel, Order, OrderLine
from orderguard.tenancy.tests.factories import MerchantFactory


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    merchant = factory.SubFactory(MerchantFactory)
    platform = Platform.TAOBAO
    code = factory.Sequence(lambda n: f"ch{n}")
    name = factory.Sequence(lambda n: f"店铺{n}")
    warehouse = factory.SubFactory(WarehouseFactory)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    channel = factory.SubFactory(ChannelFactory)
    merchant = factory.SelfAttribute("channel.merchant")
    platform_order_id = factory.Sequence(lambda n: f"P{n:08d}")
    paid_at = factory.Sequence(lambda n: datetime(2026, 11, 20, tzinfo=UTC) + timedelta(minutes=n))


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    line_no = factory.Sequence(lambda n: n + 1)
    sku_code = factory.LazyAttribute(lambda o: o.sku.code if o.sku else "")
    quantity = 1
