"""Who is asking, and what they may see: the one place that decides it (DESIGN.md tenancy).

Every read of tenant data goes through `visible(...)`; an object fetched by id goes through
`get_visible(...)`, which raises the same `NotFound` for "missing" and "someone else's", so an
id guessed in a URL tells nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from orderguard.core.errors import NotFound
from orderguard.tenancy.models import STAFF_ROLES, ApiToken, Membership, Role

M = TypeVar("M", bound=models.Model)

# How precisely a token's last use is recorded.
TOKEN_USE_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int
    role: Role
    merchant_id: int | None
    label: str

    @property
    def is_staff_role(self) -> bool:
        return self.role != Role.MERCHANT


class NoRole(Exception):
    """The user has no role (no Membership and not a superuser): it may see nothing."""


def actor_for(user: AbstractBaseUser | AnonymousUser) -> Actor:
    if not user.is_authenticated or not user.is_active:
        raise NoRole()
    membership = Membership.objects.select_related("merchant").filter(user_id=user.pk).first()
    if membership is not None and membership.merchant is not None and not membership.merchant.active:
        # a merchant the warehouse no longer serves: its users see nothing
        raise NoRole()
    if membership is None:
        if getattr(user, "is_superuser", False):
            return Actor(
                user_id=user.pk, role=Role.ADMIN, merchant_id=None, label=f"user:{user.get_username()}"
            )
        raise NoRole()
    return Actor(
        user_id=user.pk,
        role=Role(membership.role),
        merchant_id=membership.merchant_id,
        label=f"user:{user.get_username()}",
    )


def visible(qs: models.QuerySet[M], actor: Actor, *, merchant_field: str = "merchant") -> models.QuerySet[M]:
    """`qs` narrowed to what `actor` may see: a merchant user its own merchant's rows."""
    if actor.merchant_id is not None:
        return qs.filter(**{f"{merchant_field}_id": actor.merchant_id})
    return qs


def get_visible(qs: models.QuerySet[M], actor: Actor, pk: int, *, merchant_field: str = "merchant") -> M:
    """The object `pk` if `actor` may see it; `NotFound` alike for missing and not theirs."""
    obj = visible(qs, actor, merchant_field=merchant_field).filter(pk=pk).first()
    if obj is None:
        raise NotFound("not found", model=qs.model.__name__, id=pk)
    return obj


def staff_users() -> models.QuerySet[User]:
    """Active users who are warehouse staff (a staff role, or a superuser without a role, whom
    `actor_for` treats as an administrator): the people cases may be assigned to."""
    return User.objects.filter(is_active=True).filter(
        models.Q(membership__role__in=STAFF_ROLES) | models.Q(membership__isnull=True, is_superuser=True)
    )


def usernames_as_seen_by(*, actor: Actor, usernames: Iterable[str]) -> dict[str, str]:
    """How each of `usernames` is shown to `actor`: as itself to warehouse staff, as the user's
    role ("客服", "仓库主管") to a merchant user, who never learns staff usernames. One query for a
    merchant viewer, none for staff."""
    names = set(usernames)
    if actor.is_staff_role or not names:
        return {n: n for n in names}
    roles = dict(Membership.objects.filter(user__username__in=names).values_list("user__username", "role"))
    # a user since deleted: staff, since merchants' users act only on their own merchant's data
    return {n: str(Role(roles[n]).label) if n in roles else str(_("仓库员工")) for n in names}


def user_id_for(username: str) -> int | None:
    """The id of the user named `username`, or None."""
    return User.objects.filter(username=username).values_list("pk", flat=True).first()


def token_create(*, user_id: int, name: str) -> tuple[ApiToken, str]:
    """A new token for the user; returns the row and the token text (shown once)."""
    raw = "og_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user_id=user_id, name=name, prefix=raw[:11], key_hash=hashlib.sha256(raw.encode()).hexdigest()
    )
    return token, raw


def token_user(raw: str) -> AbstractBaseUser | None:
    """The active user of an unrevoked token, or None. The lookup is by the token's hash, so
    comparing it leaks nothing about other tokens."""
    digest = hashlib.sha256(raw.encode()).hexdigest()
    token = ApiToken.objects.select_related("user").filter(key_hash=digest, revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # written at most every few minutes: a write on every request would queue API reads behind
    # imports on SQLite (one writer at a time)
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
