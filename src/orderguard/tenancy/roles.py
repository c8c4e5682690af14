"""What each role may do in the admin pages: one Django group per staff role, kept equal to
`ROLE_PERMISSIONS` by `roles_sync` (run after every `migrate`, so by `orderguard setup`).

A user's groups and `is_staff` follow its Membership role (`tenancy.services.user_role_apply`);
a merchant user has no group and no `is_staff`, so no admin at all.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS, transaction

from orderguard.tenancy.models import STAFF_ROLES, Role

VIEW = ("view",)
VIEW_CHANGE = ("view", "change")
VIEW_ADD_CHANGE = ("view", "add", "change")
ALL_ACTIONS = ("view", "add", "change", "delete")


def _grant(**models: tuple[str, ...]) -> frozenset[str]:
    """`catalog__sku=("view",)` -> {"catalog.view_sku"}."""
    out: set[str] = set()
    for key, actions in models.items():
        app_label, model = key.split("__")
        out.update(f"{app_label}.{action}_{model}" for action in actions)
    return frozenset(out)


# "*": every permission of every model (users, groups, roles, tokens included).
EVERYTHING = "*"

ROLE_PERMISSIONS: Mapping[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({EVERYTHING}),
    Role.MANAGER: _grant(
        tenancy__merchant=VIEW_CHANGE,
        orders__channel=VIEW_CHANGE,
        catalog__warehouse=VIEW_ADD_CHANGE,
        catalog__sku=VIEW_ADD_CHANGE,
        catalog__bundleitem=ALL_ACTIONS,
        catalog__courier=VIEW_ADD_CHANGE,
        specials__couriercontract=VIEW_ADD_CHANGE,
        audits__auditplan=VIEW_ADD_CHANGE,
        inventory__stocklevel=VIEW_CHANGE,
        sla__slapolicy=VIEW_CHANGE,
        sla__workingcalendar=VIEW_ADD_CHANGE,
        sla__calendarday=ALL_ACTIONS,
        notifications__outboxmessage=VIEW,
        notifications__outboxattempt=VIEW,
        incidents__incident=VIEW,
        incidents__manualorder=VIEW,
        notifications__notificationchannel=VIEW_ADD_CHANGE,
        notifications__merchantcontact=ALL_ACTIONS,
        notifications__notificationtemplate=VIEW_ADD_CHANGE,
        auth__user=VIEW,
        tenancy__membership=VIEW,
        validation__ruleoverride=ALL_ACTIONS,
    ),
    Role.OPERATOR: _grant(
        tenancy__merchant=VIEW,
        catalog__warehouse=VIEW_CHANGE,
        catalog__sku=VIEW_CHANGE,
        catalog__bundleitem=ALL_ACTIONS,
        catalog__courier=VIEW,
        inventory__stocklevel=VIEW_CHANGE,
    ),
    Role.SERVICE_AGENT: _grant(
        tenancy__merchant=VIEW,
        orders__channel=VIEW,
        catalog__sku=VIEW,
        catalog__bundleitem=VIEW,
        catalog__courier=VIEW,
        specials__couriercontract=VIEW,
        inventory__stocklevel=VIEW,
        sla__slapolicy=VIEW,
        sla__workingcalendar=VIEW,
        sla__calendarday=VIEW,
    ),
    Role.TECH_ONCALL: _grant(
        tenancy__merchant=VIEW,
        orders__channel=VIEW_CHANGE,
        catalog__warehouse=VIEW,
        incidents__incident=VIEW,
        incidents__manualorder=VIEW,
        notifications__outboxmessage=VIEW,
        notifications__outboxattempt=VIEW,
        notifications__notificationchannel=VIEW,
        # a locked-out sign-in is unlocked by deleting its attempt row
        axes__accessattempt=("view", "delete"),
        axes__accesslog=VIEW,
        axes__accessfailurelog=VIEW,
    ),
    Role.MERCHANT: frozenset(),
}

# Roles that have a group (and `is_staff`): every role but the merchant user's.
ROLE_GROUP_NAMES: frozenset[str] = frozenset(r.value for r in STAFF_ROLES)


class UnknownPermission(Exception):
    """`ROLE_PERMISSIONS` names a permission no model has (a renamed model, a typo)."""


@transaction.atomic
def roles_sync(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Make one group per staff role (named by the role's value, e.g. ``manager``) whose
    permissions are exactly `ROLE_PERMISSIONS`; permissions given by hand to these groups are
    taken away. Idempotent. Creates the models' permissions first, since Django only creates
    them app by app after `migrate`, and this may run before the last app's turn.
    Raises UnknownPermission for a permission that does not exist."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    ids = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role in sorted(STAFF_ROLES):
        wanted = ROLE_PERMISSIONS[role]
        if EVERYTHING in wanted:
            pks = list(ids.values())
        else:
            missing = sorted(wanted - ids.keys())
            if missing:
                raise UnknownPermission(f"{role.value}: {', '.join(missing)}")
            pks = [ids[name] for name in wanted]
        group, _created = Group.objects.using(using).get_or_create(name=role.value)
        group.permissions.set(pks)
