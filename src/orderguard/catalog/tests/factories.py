import factory

from orderguard.catalog.models import BundleItem, Sku, Warehouse
from orderguard.tenancy.tests.factories import MerchantFactory


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"wh{n}")
    name = factory.Sequence(lambda n: f"仓库{n}")
    alert_email = factory.LazyAttribute(lambda o: f"alerts@{o.code}.example")


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku

    merchant = factory.SubFactory(MerchantFactory)
    code = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.LazyAttribute(lambda o: f"商品 {o.code}")


class BundleItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BundleItem

    quantity = 1
