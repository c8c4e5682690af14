"""A channel's signing secret is blank (no webhooks) or at least 32 characters, wherever it is set."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.test import Client

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.masterdata import masterdata_import
from orderguard.intake.models import ImportRowError
from orderguard.orders.models import MIN_SIGNING_SECRET, Channel
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LONG = "k" * 32
SHORT = "k" * 31


def test_the_minimum_is_32_characters():
    assert MIN_SIGNING_SECRET == 32


@pytest.mark.parametrize("field", ["signing_secret", "previous_signing_secret"])
def test_model_validation_refuses_a_short_secret_and_takes_blank_or_long(field):
    channel = ChannelFactory()
    for ok in ("", LONG):
        setattr(channel, field, ok)
        channel.full_clean()
    setattr(channel, field, SHORT)
    with pytest.raises(ValidationError) as caught:
        channel.full_clean()
    assert caught.value.message_dict == {
        field: ["签名密钥至少需要 32 个字符（现在是 31 个）：请使用随机生成的密钥"]
    }


def test_the_admin_form_refuses_a_short_secret_and_keeps_the_old_one():
    channel = ChannelFactory(signing_secret=LONG)
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    form_data = {
        "merchant": channel.merchant_id,
        "platform": channel.platform,
        "code": channel.code,
        "name": channel.name,
        "warehouse": channel.warehouse_id,
        "signing_secret": SHORT,
        "previous_signing_secret": "",
        "active": "on",
    }
    response = client.post(f"/admin/orders/channel/{channel.pk}/change/", form_data)

    assert response.status_code == 200
    assert "签名密钥至少需要 32 个字符（现在是 31 个）" in response.content.decode()
    assert Channel.objects.get(pk=channel.pk).signing_secret == LONG
    assert site.is_registered(Channel)


def test_master_data_refuses_a_channel_with_a_short_secret_without_repeating_it():
    doc = {
        "warehouses": [{"code": "HZ01", "name": "杭州一号仓"}],
        "merchants": [{"code": "yoyo", "name": "悠悠服饰"}],
        "channels": [
            {
                "code": "short",
                "name": "x",
                "platform": "jd",
                "merchant": "yoyo",
                "warehouse": "HZ01",
                "signing_secret": SHORT,
            },
            {
                "code": "long",
                "name": "y",
                "platform": "jd",
                "merchant": "yoyo",
                "warehouse": "HZ01",
                "signing_secret": LONG,
            },
            {
                "code": "none",
                "name": "z",
                "platform": "jd",
                "merchant": "yoyo",
                "warehouse": "HZ01",
                "signing_secret": "",
            },
        ],
    }

    batch = masterdata_import(file=SourceFile("md.json", json.dumps(doc).encode()))

    assert list(
        ImportRowError.objects.filter(batch=batch).values_list("row", "field", "code", "message", "value")
    ) == [
        (
            1,
            "channels.signing_secret",
            "SECRET_TOO_SHORT",
            "md.json 第 1 行：[channels] signing_secret 无效：签名密钥至少需要 32 个字符（现在是 31 个）：请使用随机生成的密钥",
            "",
        )
    ]
    assert sorted(Channel.objects.values_list("code", "signing_secret")) == [("long", LONG), ("none", "")]


def test_master_data_never_repeats_a_secret_that_is_too_long_either():
    doc = {
        "warehouses": [{"code": "HZ01", "name": "杭州一号仓"}],
        "merchants": [{"code": "yoyo", "name": "悠悠服饰"}],
        "channels": [
            {
                "code": "c",
                "name": "x",
                "platform": "jd",
                "merchant": "yoyo",
                "warehouse": "HZ01",
                "signing_secret": "s" * 201,
            }
        ],
    }

    batch = masterdata_import(file=SourceFile("md.json", json.dumps(doc).encode()))

    (error,) = ImportRowError.objects.filter(batch=batch)
    assert (error.field, error.code, error.value, "sss" in error.message) == (
        "channels.signing_secret",
        "FIELD_INVALID",
        "",
        False,
    )
    assert Channel.objects.count() == 0
