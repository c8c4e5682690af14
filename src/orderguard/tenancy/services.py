"""Tenancy writes: users with a role, API tokens, disabling a user."""

from __future__ import annotations

import secrets

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.sessions.models import Session
from django.db import transaction

from orderguard.core import clock
from orderguard.core.errors import InvalidInput
from orderguard.tenancy.access import token_create
from orderguard.tenancy.models import ApiToken, Membership, Merchant, Role
from orderguard.tenancy.roles import ROLE_GROUP_NAMES, roles_sync


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
    user_role_apply(user_id=user.pk)
    user.refresh_from_db(fields=["is_staff"])
    return user, password


@transaction.atomic
def user_role_apply(*, user_id: int) -> None:
    """Make the user's role group and `is_staff` follow its Membership: a staff role gives its
    group (`tenancy.roles`) and `is_staff`; a merchant user, or a user without a role, has
    neither. Groups that are not role groups are left alone, and so is a superuser without a
    role (`actor_for` treats it as an administrator). Call it whenever a role is set."""
    users = get_user_model()
    user = users.objects.select_for_update().get(pk=user_id)
    role = Membership.objects.filter(user_id=user_id).values_list("role", flat=True).first()
    staff = role is not None and role != Role.MERCHANT
    wanted: list[Group] = []
    if staff:
        group = Group.objects.filter(name=role).first()
        if group is None:
            # a database migrated before the role groups existed
            roles_sync()
            group = Group.objects.get(name=role)
        wanted.append(group)
    user.groups.remove(*user.groups.filter(name__in=ROLE_GROUP_NAMES).exclude(name=role or ""))
    user.groups.add(*wanted)
    if role is None and user.is_superuser:
        return
    if user.is_staff != staff:
        users.objects.filter(pk=user_id).update(is_staff=staff)


def user_sessions_end(*, user_id: int) -> int:
    """Delete every signed-in session of the user; returns how many. Sessions are stored by
    key, not by user, so the unexpired ones are read to find the user's."""
    now = clock.now()
    mine = [
        s.pk
        for s in Session.objects.filter(expire_date__gt=now).iterator()
        if s.get_decoded().get(SESSION_KEY) == str(user_id)
    ]
    if mine:
        Session.objects.filter(pk__in=mine).delete()
    return len(mine)


@transaction.atomic
def user_active_set(*, username: str, active: bool) -> int:
    """Enable or disable a user. Disabling also ends its sessions at once, so that enabling it
    again later does not bring an old signed-in browser back; returns how many sessions ended.
    Its API tokens stop working while it is disabled (`token_user`). Raises InvalidInput for an
    unknown user."""
    users = get_user_model()
    user_id = users.objects.filter(username=username).values_list("pk", flat=True).first()
    if user_id is None:
        raise InvalidInput(f"unknown user {username!r}", field="username")
    users.objects.filter(pk=user_id).update(is_active=active)
    return 0 if active else user_sessions_end(user_id=user_id)


def api_token_create(*, username: str, name: str) -> tuple[ApiToken, str]:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"unknown user {username!r}", field="username")
    return token_create(user_id=user.pk, name=name)
