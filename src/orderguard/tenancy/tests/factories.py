import factory

from orderguard.tenancy.models import Merchant


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"m{n}")
    name = factory.Sequence(lambda n: f"商家{n}")
    contact_email = factory.LazyAttribute(lambda o: f"ops@{o.code}.example")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery")


def user_with_role(role: str, merchant=None, **kwargs):  # type: ignore[no-untyped-def]
    from orderguard.tenancy.models import Membership

    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, role=role, merchant=merchant)
    return user
