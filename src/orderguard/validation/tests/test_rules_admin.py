"""The rules' admin page: managers set a merchant's rule; fixed rules are not offered."""

from __future__ import annotations

import pytest

from orderguard.tenancy.services import user_create
from orderguard.tenancy.tests.factories import MerchantFactory
from orderguard.validation.models import RuleOverride

pytestmark = pytest.mark.django_db
ADD = "/admin/validation/ruleoverride/add/"


def test_a_manager_sets_a_merchants_rule_in_the_admin(client):
    manager, _password = user_create(username="boss", role="manager", merchant_code="")
    merchant = MerchantFactory()
    client.force_login(manager)

    response = client.post(ADD, {"merchant": merchant.pk, "code": "PHONE_MASKED", "severity": "blocking"})

    assert response.status_code == 302
    assert list(RuleOverride.objects.values_list("merchant_id", "code", "severity", "changed_by")) == [
        (merchant.pk, "PHONE_MASKED", "blocking", "user:boss")
    ]


@pytest.mark.parametrize(
    ("code", "severity"), [("STOCK_SHORT", "warning"), ("NOPE", "off"), ("PHONE_MASKED", "loud")]
)
def test_the_admin_refuses_a_fixed_or_unknown_rule_and_a_severity_that_does_not_exist(client, code, severity):
    manager, _password = user_create(username="boss", role="manager", merchant_code="")
    merchant = MerchantFactory()
    client.force_login(manager)

    response = client.post(ADD, {"merchant": merchant.pk, "code": code, "severity": severity})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert RuleOverride.objects.count() == 0


def test_an_operator_has_no_rules_admin(client):
    operator, _password = user_create(username="op", role="operator", merchant_code="")
    client.force_login(operator)

    assert client.get(ADD).status_code == 403
