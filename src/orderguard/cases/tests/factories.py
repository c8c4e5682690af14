from datetime import timedelta

import factory

from orderguard.cases.models import ExceptionCase
from orderguard.core import clock
from orderguard.orders.tests.factories import OrderFactory


class ExceptionCaseFactory(factory.django.DjangoModelFactory):
    """An open T2 case due in two hours (warned one hour before); pass `due_in` (a timedelta,
    negative for overdue) to move both."""

    class Meta:
        model = ExceptionCase
        exclude = ("due_in",)

    order = factory.SubFactory(OrderFactory)
    merchant = factory.SelfAttribute("order.merchant")
    type = "T2"
    source = "D2"
    step = "contact_buyer"
    opened_at = factory.LazyFunction(clock.now)
    due_in = timedelta(hours=2)
    due_at = factory.LazyAttribute(lambda o: o.opened_at + o.due_in)
    warn_at = factory.LazyAttribute(lambda o: o.due_at - timedelta(hours=1))
    sla_next_at = factory.LazyAttribute(lambda o: o.warn_at)
