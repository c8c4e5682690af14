import factory

from orderguard.tenancy.models import Merchant


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"m{n}")
    name = factory.Sequence(lambda n: f"商家{n}")
    contact_email = factory.LazyAttribute(lambda o: f"ops@{o.code}.example")
