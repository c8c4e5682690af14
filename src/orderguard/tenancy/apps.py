from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _roles_sync_after_migrate(*, using: str, **kwargs: Any) -> None:
    from orderguard.tenancy.roles import roles_sync

    roles_sync(using=using)


class TenancyConfig(AppConfig):
    name = "orderguard.tenancy"

    def ready(self) -> None:
        # after every `migrate` (and after a test database is flushed): the role groups follow
        # the code, whatever was changed by hand
        post_migrate.connect(_roles_sync_after_migrate, sender=self, dispatch_uid="orderguard_roles_sync")
