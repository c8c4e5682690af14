"""The admin pages per role: what each role sees and may change, groups and `is_staff` following
the role, and a disabled user's sessions ending at once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.models import Session

from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.sla.models import SlaPolicy
from orderguard.tenancy.models import Membership, Role
from orderguard.tenancy.roles import ROLE_PERMISSIONS, roles_sync
from orderguard.tenancy.services import user_active_set, user_create
from orderguard.tenancy.tests.factories import MerchantFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db
# a signing secret as long as the model requires (32 characters at least)
SECRET = "s" * 40

PASSWORD = "correct horse battery"


def staff(role: str, username: str | None = None) -> User:
    """A user made the way `orderguard user` makes one: its role decides groups and is_staff."""
    merchant = MerchantFactory(code="shop") if role == Role.MERCHANT else None
    user, _password = user_create(
        username=username or f"u-{role}", role=role, merchant_code=merchant.code if merchant else ""
    )
    return user


def admin_models(client, user: User) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What the admin index offers `user`: {"app.Model": "vacd" letters of view/add/change/delete}."""
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return {
        f"{app['app_label']}.{model['object_name']}": "".join(
            action[0] for action in ("view", "add", "change", "delete") if model["perms"][action]
        )
        for app in response.context["app_list"]
        for model in app["models"]
    }


EXPECTED = {
    Role.ADMIN: {
        "audits.AuditPlan": "vacd",
        "auth.Group": "vacd",
        "auth.User": "vacd",
        "axes.AccessAttempt": "vcd",
        "axes.AccessFailureLog": "vcd",
        "axes.AccessLog": "vcd",
        "catalog.Courier": "vacd",
        "catalog.Sku": "vacd",
        "catalog.Warehouse": "vacd",
        "incidents.Incident": "v",
        "incidents.ManualOrder": "v",
        "inventory.StockLevel": "vc",
        "notifications.MerchantContact": "vacd",
        "notifications.NotificationChannel": "vacd",
        "notifications.NotificationTemplate": "vacd",
        "notifications.OutboxMessage": "vd",
        "orders.Channel": "vacd",
        "sla.SlaPolicy": "vacd",
        "sla.WorkingCalendar": "vacd",
        "specials.CourierContract": "vacd",
        "tenancy.ApiToken": "vcd",
        "tenancy.Membership": "vacd",
        "tenancy.Merchant": "vacd",
        "validation.RuleOverride": "vacd",
    },
    Role.MANAGER: {
        "audits.AuditPlan": "vac",
        "auth.User": "v",
        "catalog.Courier": "vac",
        "catalog.Sku": "vac",
        "catalog.Warehouse": "vac",
        "incidents.Incident": "v",
        "incidents.ManualOrder": "v",
        "inventory.StockLevel": "vc",
        "notifications.MerchantContact": "vacd",
        "notifications.NotificationChannel": "vac",
        "notifications.NotificationTemplate": "vac",
        "notifications.OutboxMessage": "v",
        "orders.Channel": "vc",
        "sla.SlaPolicy": "vc",
        "sla.WorkingCalendar": "vac",
        "specials.CourierContract": "vac",
        "tenancy.Membership": "v",
        "tenancy.Merchant": "vc",
        "validation.RuleOverride": "vacd",
    },
    Role.OPERATOR: {
        "catalog.Courier": "v",
        "catalog.Sku": "vc",
        "catalog.Warehouse": "vc",
        "inventory.StockLevel": "vc",
        "tenancy.Merchant": "v",
    },
    Role.SERVICE_AGENT: {
        "catalog.Courier": "v",
        "catalog.Sku": "v",
        "inventory.StockLevel": "v",
        "orders.Channel": "v",
        "sla.SlaPolicy": "v",
        "sla.WorkingCalendar": "v",
        "specials.CourierContract": "v",
        "tenancy.Merchant": "v",
    },
    Role.TECH_ONCALL: {
        "axes.AccessAttempt": "vd",
        "axes.AccessFailureLog": "v",
        "axes.AccessLog": "v",
        "catalog.Warehouse": "v",
        "incidents.Incident": "v",
        "incidents.ManualOrder": "v",
        "notifications.NotificationChannel": "v",
        "notifications.OutboxMessage": "v",
        "orders.Channel": "vc",
        "tenancy.Merchant": "v",
    },
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_sees_exactly_its_admin_models_with_its_actions(client, role):
    assert admin_models(client, staff(role)) == EXPECTED[role]


def test_a_merchant_user_gets_no_admin_at_all(client):
    user = staff(Role.MERCHANT)
    client.force_login(user)

    response = client.get("/admin/")
    channel_list = client.get("/admin/orders/channel/")

    assert (user.is_staff, list(user.groups.all())) == (False, [])
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")
    assert channel_list.status_code == 302


def test_each_staff_role_has_its_group_and_is_staff_from_the_role():
    users = [staff(role) for role in Role]

    assert [(u.membership.role, u.is_staff, [g.name for g in u.groups.all()]) for u in users] == [
        ("operator", True, ["operator"]),
        ("cs_agent", True, ["cs_agent"]),
        ("tech_oncall", True, ["tech_oncall"]),
        ("manager", True, ["manager"]),
        ("admin", True, ["admin"]),
        ("merchant", False, []),
    ]


def test_roles_sync_is_idempotent_and_takes_back_permissions_given_by_hand():
    manager = Group.objects.get(name="manager")
    manager.permissions.add(Permission.objects.get(codename="delete_user"))

    roles_sync()
    roles_sync()

    def names(group: str) -> set[str]:
        return {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=group).permissions.select_related("content_type")
        }

    assert sorted(Group.objects.values_list("name", flat=True)) == [
        "admin",
        "cs_agent",
        "manager",
        "operator",
        "tech_oncall",
    ]
    for role in (Role.MANAGER, Role.OPERATOR, Role.SERVICE_AGENT, Role.TECH_ONCALL):
        assert names(role.value) == set(ROLE_PERMISSIONS[role])
    assert Group.objects.get(name="admin").permissions.count() == Permission.objects.count()


# --- changes allowed and refused ------------------------------------------------------------


def channel_form(channel, **changes):  # type: ignore[no-untyped-def]
    data = {
        "merchant": channel.merchant_id,
        "platform": channel.platform,
        "code": channel.code,
        "name": channel.name,
        "warehouse": channel.warehouse_id,
        "signing_secret": channel.signing_secret,
        "previous_signing_secret": channel.previous_signing_secret,
        "active": "on" if channel.active else "",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    ("role", "status", "name_after"),
    [
        (Role.TECH_ONCALL, 302, "新名字"),
        (Role.MANAGER, 302, "新名字"),
        (Role.ADMIN, 302, "新名字"),
        (Role.SERVICE_AGENT, 403, "店铺"),
        (Role.OPERATOR, 403, "店铺"),
    ],
)
def test_only_roles_that_may_change_a_channel_change_it(client, role, status, name_after):
    channel = ChannelFactory(name="店铺", signing_secret=SECRET)
    client.force_login(staff(role))

    response = client.post(
        f"/admin/orders/channel/{channel.pk}/change/", channel_form(channel, name="新名字")
    )

    assert response.status_code == status
    channel.refresh_from_db()
    assert (channel.name, channel.signing_secret) == (name_after, SECRET)


@pytest.mark.parametrize(
    ("role", "status", "minutes_after"),
    [(Role.MANAGER, 302, 45), (Role.SERVICE_AGENT, 403, 60), (Role.OPERATOR, 403, 60)],
)
def test_sla_policies_are_changed_by_managers_only(client, role, status, minutes_after):
    policy = SlaPolicy.objects.create(case_type="T1", step="role_test", minutes=60, warn_percent=75)
    client.force_login(staff(role))

    response = client.post(
        f"/admin/sla/slapolicy/{policy.pk}/change/",
        {
            "case_type": "T1",
            "step": "role_test",
            "minutes": "45",
            "warn_percent": "75",
            "escalate_after_minutes": "60",
            "pause_while_waiting": "on",
        },
    )

    assert response.status_code == status
    policy.refresh_from_db()
    assert policy.minutes == minutes_after


def test_an_operator_changes_a_warehouse_but_cannot_add_one(client):
    warehouse = WarehouseFactory(code="wh-a", name="一号仓")
    client.force_login(staff(Role.OPERATOR))

    changed = client.post(
        f"/admin/catalog/warehouse/{warehouse.pk}/change/",
        {"code": "wh-a", "name": "一号仓（东）", "alert_email": warehouse.alert_email, "active": "on"},
    )
    added = client.post("/admin/catalog/warehouse/add/", {"code": "wh-b", "name": "二号仓", "active": "on"})

    assert (changed.status_code, added.status_code) == (302, 403)
    assert list(WarehouseFactory._meta.model.objects.values_list("code", "name")) == [
        ("wh-a", "一号仓（东）")
    ]


def test_a_manager_sees_users_but_cannot_add_one(client):
    client.force_login(staff(Role.MANAGER))
    before = User.objects.count()

    listed = client.get("/admin/auth/user/")
    added = client.post(
        "/admin/auth/user/add/",
        {"username": "intruder", "password1": "Qx7#vb-long-pw", "password2": "Qx7#vb-long-pw"},
    )

    assert (listed.status_code, added.status_code) == (200, 403)
    assert User.objects.count() == before


# --- setting a role in the admin ------------------------------------------------------------


def test_a_role_set_in_the_membership_admin_sets_group_and_is_staff(client):
    client.force_login(staff(Role.ADMIN, "boss"))
    user = UserFactory(username="newbie")

    client.post("/admin/tenancy/membership/add/", {"user": user.pk, "role": "operator", "merchant": ""})
    user.refresh_from_db()
    as_operator = (user.is_staff, [g.name for g in user.groups.all()])

    membership = Membership.objects.get(user=user)
    merchant = MerchantFactory(code="shop")
    response = client.post(
        f"/admin/tenancy/membership/{membership.pk}/change/",
        {"user": user.pk, "role": "merchant", "merchant": merchant.pk},
    )
    user.refresh_from_db()

    assert response.status_code == 302
    assert as_operator == (True, ["operator"])
    assert (user.is_staff, [g.name for g in user.groups.all()]) == (False, [])

    client.post(f"/admin/tenancy/membership/{membership.pk}/delete/", {"post": "yes"})
    user.refresh_from_db()
    assert (Membership.objects.filter(user=user).exists(), user.is_staff) == (False, False)


def user_form(user: User, membership: Membership | None, **changes: str) -> dict[str, object]:
    data: dict[str, object] = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on" if user.is_active else "",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-11-30",
        "date_joined_1": "10:00:00",
        "membership-TOTAL_FORMS": "1",
        "membership-INITIAL_FORMS": "1" if membership else "0",
        "membership-MIN_NUM_FORMS": "0",
        "membership-MAX_NUM_FORMS": "1",
        "membership-0-id": membership.pk if membership else "",
        "membership-0-user": user.pk,
        "membership-0-role": membership.role if membership else "",
        "membership-0-merchant": membership.merchant_id or "" if membership else "",
    }
    return {**data, **changes}


def test_a_role_set_in_the_user_admin_sets_group_and_is_staff_and_superuser_stays_unset(client):
    client.force_login(staff(Role.ADMIN, "boss"))
    user = staff(Role.SERVICE_AGENT, "agent")

    response = client.post(
        f"/admin/auth/user/{user.pk}/change/",
        user_form(
            user, user.membership, **{"membership-0-role": "manager", "is_superuser": "on", "is_staff": ""}
        ),
    )
    user.refresh_from_db()

    assert response.status_code == 302
    assert (user.membership.role, user.is_staff, user.is_superuser) == ("manager", True, False)
    assert [g.name for g in user.groups.all()] == ["manager"]


def test_other_groups_of_a_user_stay_when_its_role_changes():
    user = staff(Role.OPERATOR, "ops")
    night = Group.objects.create(name="night-shift")
    user.groups.add(night)

    Membership.objects.filter(user=user).update(role="tech_oncall")
    from orderguard.tenancy.services import user_role_apply

    user_role_apply(user_id=user.pk)

    assert sorted(user.groups.values_list("name", flat=True)) == ["night-shift", "tech_oncall"]


def test_a_superuser_without_a_role_keeps_its_staff_status():
    from orderguard.tenancy.services import user_role_apply

    root = UserFactory(username="root", is_staff=True, is_superuser=True)

    user_role_apply(user_id=root.pk)

    root.refresh_from_db()
    assert (root.is_staff, list(root.groups.all())) == (True, [])


# --- disabling a user ends its sessions -----------------------------------------------------


def signed_in(username: str) -> object:
    from django.test import Client

    browser = Client()
    assert browser.post("/accounts/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return browser


def sessions_of(user: User) -> int:
    return sum(1 for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk))


def test_disabling_a_user_in_the_admin_deletes_its_sessions_so_enabling_it_again_revives_none(client):
    agent = user_with_role("cs_agent", username="agent")
    other = user_with_role("cs_agent", username="other")
    browser, bystander = signed_in("agent"), signed_in("other")
    client.force_login(staff(Role.ADMIN, "boss"))

    response = client.post(
        f"/admin/auth/user/{agent.pk}/change/", user_form(agent, agent.membership, is_active="")
    )

    assert response.status_code == 302
    assert (sessions_of(agent), sessions_of(other)) == (0, 1)
    User.objects.filter(pk=agent.pk).update(is_active=True)
    assert browser.get("/").status_code == 302  # type: ignore[attr-defined]
    assert bystander.get("/").status_code == 200  # type: ignore[attr-defined]


def test_disabling_a_user_by_the_service_ends_its_sessions_and_enabling_it_signs_nobody_in():
    agent = user_with_role("cs_agent", username="agent")
    browser = signed_in("agent")

    ended = user_active_set(username="agent", active=False)
    user_active_set(username="agent", active=True)

    agent.refresh_from_db()
    assert (ended, agent.is_active, sessions_of(agent)) == (1, True, 0)
    assert browser.get("/").status_code == 302  # type: ignore[attr-defined]


def run_cli(capsys, *argv: str) -> tuple[int, dict[str, object]]:  # type: ignore[no-untyped-def]
    import json

    from orderguard.cli import main

    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_the_cli_disables_a_user_and_ends_its_sessions_then_enables_it(capsys):
    agent = user_with_role("cs_agent", username="agent")
    browser = signed_in("agent")

    disabled = run_cli(capsys, "user", "agent", "--disable", "--json")
    enabled = run_cli(capsys, "user", "agent", "--enable", "--json")

    agent.refresh_from_db()
    assert disabled == (0, {"ok": True, "username": "agent", "active": False, "sessions_ended": 1})
    assert enabled == (0, {"ok": True, "username": "agent", "active": True, "sessions_ended": 0})
    assert (agent.is_active, sessions_of(agent)) == (True, 0)
    assert browser.get("/").status_code == 302  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "argv",
    [
        ["user", "nobody", "--disable", "--json"],
        ["user", "agent", "--disable", "--role", "manager", "--json"],
        ["user", "someone", "--json"],
    ],
)
def test_bad_disable_requests_exit_2_and_change_nothing(capsys, argv):
    agent = user_with_role("cs_agent", username="agent")

    code, data = run_cli(capsys, *argv)

    agent.refresh_from_db()
    assert (code, data["ok"]) == (2, False)
    assert (agent.is_active, User.objects.count()) == (True, 1)


def test_an_administrator_who_is_no_superuser_cannot_change_a_superusers_password(client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    before = root.password
    client.force_login(staff(Role.ADMIN, "boss"))

    response = client.post(
        f"/admin/auth/user/{root.pk}/password/",
        {"password1": "Qx7#vb-taken-over", "password2": "Qx7#vb-taken-over"},
    )
    deleted = client.post(f"/admin/auth/user/{root.pk}/delete/", {"post": "yes"})

    root.refresh_from_db()
    assert (response.status_code, deleted.status_code) == (403, 403)
    assert (root.password, root.is_active) == (before, True)


@pytest.mark.parametrize(
    ("role", "status", "planning", "alerts"),
    [
        (Role.OPERATOR, 302, (12, 30), [("open", 10, 12)]),
        (Role.SERVICE_AGENT, 403, (2, 0), []),
    ],
)
def test_safety_stock_is_changed_in_the_admin_and_opens_its_alert_while_on_hand_stays(
    client, role, status, planning, alerts
):
    from datetime import UTC, datetime

    from orderguard.catalog.tests.factories import SkuFactory
    from orderguard.inventory.models import StockAlert, StockLevel, StockMovement
    from orderguard.inventory.services import StockIn, stock_levels_set

    warehouse = WarehouseFactory(code="wh-a")
    sku = SkuFactory(code="MUG-1")
    stock_levels_set(
        merchant_id=sku.merchant_id,
        lines=[StockIn(warehouse_id=warehouse.pk, sku_id=sku.pk, on_hand=10, safety_stock=2)],
        now=datetime(2026, 11, 30, tzinfo=UTC),
        actor_label="test",
    )
    level = StockLevel.objects.get()
    client.force_login(staff(role))

    response = client.post(
        f"/admin/inventory/stocklevel/{level.pk}/change/",
        {
            "on_hand": "999",
            "allocated": "5",
            "safety_stock": "12",
            "inbound_quantity": "30",
            "inbound_eta_0": "",
            "inbound_eta_1": "",
        },
    )

    level.refresh_from_db()
    assert response.status_code == status
    assert (level.on_hand, level.allocated) == (10, 0)
    assert StockMovement.objects.count() == 1
    assert (level.safety_stock, level.inbound_quantity) == planning
    assert list(StockAlert.objects.values_list("status", "available", "safety_stock")) == alerts


def test_a_role_that_only_reads_channels_never_sees_their_signing_secrets(client):
    channel = ChannelFactory(signing_secret=SECRET)
    client.force_login(staff(Role.SERVICE_AGENT))
    html = client.get(f"/admin/orders/channel/{channel.pk}/change/").content.decode()
    assert channel.name in html
    assert (SECRET in html, "signing_secret" in html) == (False, False)

    client.force_login(staff(Role.TECH_ONCALL))
    assert "signing_secret" in client.get(f"/admin/orders/channel/{channel.pk}/change/").content.decode()


def test_a_channel_never_moves_to_another_merchant(client):
    channel = ChannelFactory(name="店铺", signing_secret=SECRET)
    owner = channel.merchant_id
    client.force_login(staff(Role.MANAGER))

    response = client.post(
        f"/admin/orders/channel/{channel.pk}/change/",
        channel_form(channel, name="新名字", merchant=MerchantFactory().pk),
    )

    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.merchant_id) == ("新名字", owner)


def test_an_administrator_who_is_no_superuser_cannot_give_a_superuser_a_role(client):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    membership = Membership.objects.create(user=root, role=Role.ADMIN)
    client.force_login(staff(Role.ADMIN))

    changed = client.post(
        f"/admin/tenancy/membership/{membership.pk}/change/",
        {"user": root.pk, "role": Role.MERCHANT, "merchant": MerchantFactory().pk},
    )
    deleted = client.post(f"/admin/tenancy/membership/{membership.pk}/delete/", {"post": "yes"})

    assert (changed.status_code, deleted.status_code) == (403, 403)
    membership.refresh_from_db()
    assert (membership.role, membership.merchant_id) == (Role.ADMIN, None)


def test_a_revoked_token_stays_revoked_and_the_admin_revokes_with_an_action(client):
    from orderguard.tenancy.access import token_create, token_user
    from orderguard.tenancy.models import ApiToken

    owner = staff(Role.OPERATOR)
    token, raw = token_create(user_id=owner.pk, name="erp")
    client.force_login(staff(Role.ADMIN))

    response = client.post("/admin/tenancy/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})

    assert response.status_code == 302
    token.refresh_from_db()
    revoked_at = token.revoked_at
    assert revoked_at is not None and token_user(raw) is None
    # the change form has no revoked_at to clear
    client.post(f"/admin/tenancy/apitoken/{token.pk}/change/", {"revoked_at_0": "", "revoked_at_1": ""})
    assert ApiToken.objects.get(pk=token.pk).revoked_at == revoked_at
