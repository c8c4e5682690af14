import factory

from orderguard.catalog.tests.factories import SkuFactory, WarehouseFactory
from orderguard.inventory.models import StockLevel


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    sku = factory.SubFactory(SkuFactory)
    merchant = factory.SelfAttribute("sku.merchant")
    warehouse = factory.SubFactory(WarehouseFactory)
    on_hand = 10
    safety_stock = 0
