"""Tenancy writes: users with a role, API tokens."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction

from orderguard.core.errors import InvalidInput
from orderguard.tenancy.access import token_create
from orderguard.tenancy.models import ApiToken, Membership, Merchant, Role


@transaction.atomic
def user_create(*, username: str, role: str, merchant_code: str = "") -> tuple[AbstractUser, str]:
    """A user with a role and a random password (returned once). A merchant user needs its
    merchant; staff have none. Raises InvalidInput naming the field."""
    if role not in Role.values:
        raise InvalidInput(f"unknown role {role!r} (one of {', '.join(Role.values)})", field="role")
    merchant = None
    if role == Role.MERCHANT:
        merchant = Merchant.objects.filter(code=merchant_code).first()
        if merchant is None:
            raise InvalidInput(f"unknown merchant {merchant_code!r}", field="merchant")
    elif merchant_code:
        raise InvalidInput("only a merchant user belongs to a merchant", field="merchant")
    users = get_user_model()
    if users.objects.filter(username=username).exists():
        raise InvalidInput(f"user {username!r} exists already", field="username")
    password = secrets.token_urlsafe(12)
    user = users.objects.create_user(username=username, password=password)
    Membership.objects.create(user=user, role=role, merchant=merchant)
    return user, password


def api_token_create(*, username: str, name: str) -> tuple[ApiToken, str]:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"unknown user {username!r}", field="username")
    return token_create(user_id=user.pk, name=name)
