"""Bad input on case handling through the API (S1, S2): an action by a role that may not take
it, every move the case machine forbids, a contact on a closed case, and a corrected address
that still fails. Each refusal answers in the API's error shape and changes nothing; the
correction that still fails is stored but leaves the case open with its new findings (H2.4)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client

from orderguard.cases.machine import DEFAULT, MACHINES, ActionName
from orderguard.cases.models import CaseEvent, ContactAttempt, ExceptionCase
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.core import clock
from orderguard.intake.tests.correction_world import block_suggestions, order_without_province
from orderguard.orders.models import Order, OrderEvent
from orderguard.tenancy.access import token_create
from orderguard.tenancy.models import Role
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db

MESSAGES = {
    "ACTION_ROLE": "你的角色不能执行这个操作",
    "TRANSITION_NOT_ALLOWED": "异常单当前的状态不允许这个操作",
    "CASE_CLOSED": "异常单已关闭",
}


def _bearer(role: str) -> dict[str, str]:
    _token, raw = token_create(user_id=user_with_role(role).pk, name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post(client: Client, url: str, body: dict, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def _body(action: ActionName) -> dict[str, str]:
    """A request that is complete for `action` (outcome and reason where it needs them), so a
    refusal is about the role or the move only."""
    body = {"action": str(action)}
    act = DEFAULT.actions[action]
    if act.needs_outcome:
        body["outcome"] = "succeeded"
    if act.needs_note:
        body["note"] = "原因"
    return body


def _state(case: ExceptionCase) -> tuple:
    """Everything an action could change on a case, its log and its contact attempts."""
    c = ExceptionCase.objects.get(pk=case.pk)
    return (
        c.status,
        c.waiting_on,
        c.outcome,
        c.resolution,
        c.closed_at,
        c.handling_seconds,
        c.step,
        c.due_at,
        c.warn_at,
        c.sla_level,
        c.sla_next_at,
        c.sla_paused_at,
        c.sla_remaining_seconds,
        c.contact_next,
        c.contact_next_at,
        c.updated_at,
        CaseEvent.objects.filter(case=c).count(),
        ContactAttempt.objects.filter(case=c).count(),
    )


def _closed(status: str = "resolved") -> ExceptionCase:
    closed_at = clock.now() - timedelta(hours=1)
    outcome = "succeeded" if status == "resolved" else "cancelled"
    return ExceptionCaseFactory(
        status=status, outcome=outcome, closed_at=closed_at, resolution="已处理", sla_next_at=None
    )


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.SERVICE_AGENT, Role.TECH_ONCALL])
@pytest.mark.parametrize("status", ["resolved", "cancelled"])
def test_staff_below_manager_may_not_reopen_a_closed_case_and_nothing_changes(client, role, status):
    """Reopening is for managers and admins: the others get 403 ACTION_ROLE, case unchanged."""
    case = _closed(status)
    before = _state(case)

    response = _post(client, f"/api/v1/cases/{case.pk}/actions", _body(ActionName.REOPEN), **_bearer(role))

    assert (response.status_code, response["Content-Type"].split(";")[0], response.json()) == (
        403,
        "application/json",
        {
            "ok": False,
            "error": {"code": "ACTION_ROLE", "message": MESSAGES["ACTION_ROLE"], "field": "action"},
        },
    )
    assert _state(case) == before


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_a_manager_or_an_admin_reopens_the_same_case(client, role):
    """The counterpart of the refusal above: the same request by a manager or an admin reopens
    the case, its first step's clock restarted."""
    case = _closed()

    response = _post(client, f"/api/v1/cases/{case.pk}/actions", _body(ActionName.REOPEN), **_bearer(role))

    assert (response.status_code, response.json()["status"], response.json()["outcome"]) == (200, "open", "")
    case.refresh_from_db()
    assert (case.status, case.closed_at, case.sla_level) == ("open", None, 0)
    assert case.due_at is not None and case.due_at > clock.now()


def _forbidden_moves() -> list[tuple[str, str, ActionName]]:
    """(status, waiting_on, action) for every move the T2 machine forbids a manager (who may
    take every action), read from the machine's own tables."""
    starts = [
        ("open", ""),
        ("in_progress", ""),
        ("waiting", "buyer"),
        ("waiting", "merchant"),
        ("resolved", ""),
        ("cancelled", ""),
    ]
    machine = MACHINES["T2"]
    return [
        (status, waiting_on, action)
        for status, waiting_on in starts
        for action in machine.actions
        if not machine.can(machine.actions[action], status=status, waiting_on=waiting_on, role=Role.MANAGER)
    ]


FORBIDDEN = _forbidden_moves()


def test_the_forbidden_moves_are_the_ones_the_rules_name():
    """The table the next test walks: closed cases only reopen; an open case neither resumes nor
    reopens; a case in progress does not start again; a waiting case does not start, nor wait on
    the same party again."""
    assert {(s, w, str(a)) for s, w, a in FORBIDDEN} == {
        ("open", "", "resume"),
        ("open", "", "reopen"),
        ("in_progress", "", "start"),
        ("in_progress", "", "resume"),
        ("in_progress", "", "reopen"),
        ("waiting", "buyer", "start"),
        ("waiting", "buyer", "wait_buyer"),
        ("waiting", "buyer", "reopen"),
        ("waiting", "merchant", "start"),
        ("waiting", "merchant", "wait_merchant"),
        ("waiting", "merchant", "reopen"),
        *{
            (s, "", str(a))
            for s in ("resolved", "cancelled")
            for a in MACHINES["T2"].actions
            if a != "reopen"
        },
    }


@pytest.mark.parametrize(("status", "waiting_on", "action"), FORBIDDEN)
def test_every_move_the_machine_forbids_is_a_409_and_the_case_is_unchanged(
    client, status, waiting_on, action
):
    if status in ("resolved", "cancelled"):
        case = _closed(status)
    else:
        case = ExceptionCaseFactory(status=status, waiting_on=waiting_on)
    before = _state(case)

    response = _post(client, f"/api/v1/cases/{case.pk}/actions", _body(action), **_bearer("manager"))

    assert (response.status_code, response.json()) == (
        409,
        {
            "ok": False,
            "error": {
                "code": "TRANSITION_NOT_ALLOWED",
                "message": MESSAGES["TRANSITION_NOT_ALLOWED"],
                "field": "action",
            },
        },
    )
    assert _state(case) == before
    # the case reads the same, with the buttons its status allows
    read = client.get(f"/api/v1/cases/{case.pk}", **_bearer("manager")).json()
    assert (read["status"], str(action) in read["actions"]) == (status, False)


@pytest.mark.parametrize("status", ["resolved", "cancelled"])
def test_a_contact_attempt_on_a_closed_case_is_refused_and_nothing_is_written(client, status):
    case = _closed(status)
    before = _state(case)

    response = _post(
        client,
        f"/api/v1/cases/{case.pk}/contacts",
        {"channel": "call", "outcome": "no_answer"},
        **_bearer("cs_agent"),
    )

    assert (response.status_code, response.json()["error"]["code"], response.json()["error"]["message"]) == (
        409,
        "CASE_CLOSED",
        MESSAGES["CASE_CLOSED"],
    )
    assert _state(case) == before


@pytest.fixture
def address_case(channel):  # type: ignore[no-untyped-def]
    """An open T2 case: the order's address leaves out its province."""
    order = order_without_province(block_suggestions(channel), "7001")
    return ExceptionCase.objects.get(order=order)


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        # the province given, but the street is now gone
        ({"province": "浙江省", "address_detail": "东部软件园"}, ["ADDRESS_NO_ROAD_OR_NUMBER"]),
        # a province the city is not in
        ({"province": "江苏省"}, ["ADDRESS_CONFLICT"]),
        # the province right, the phone now a service number
        ({"province": "浙江省", "recipient_phone": "10086"}, ["PHONE_SERVICE_NUMBER"]),
        # only the street changed: the province is still missing
        ({"address_detail": "文三路100号"}, ["ADDRESS_LEVEL_SUGGESTED"]),
    ],
)
def test_a_corrected_address_that_still_fails_leaves_the_case_open_with_its_findings(
    client, address_case, changes, codes
):
    """H2.4: the correction is stored and checked again; the checks still fail, so the case
    stays open, in the same status, with the same deadline and owner, and its findings are the
    new ones (logged as a change of findings when they differ)."""
    case = address_case
    before = _state(case)
    order_status = Order.objects.get(pk=case.order_id).status
    client.force_login(user_with_role("cs_agent", username="ann"))

    response = _post(
        client, f"/api/v1/orders/{case.order_id}/correct", {"changes": changes, "reason": "买家来电"}
    )

    body = response.json()
    assert (response.status_code, body["status"], body["closed_cases"]) == (200, order_status, [])
    assert sorted(body["changed"]) == sorted(changes)
    assert [f["code"] for f in body["findings"] if f["severity"] == "blocking"] == codes
    after = ExceptionCase.objects.get(pk=case.pk)
    assert [f["code"] for f in after.findings] == codes
    # open, untouched but for its findings
    assert (after.status, after.outcome, after.closed_at, after.step, after.due_at, after.opened_at) == (
        "open",
        "",
        None,
        case.step,
        case.due_at,
        case.opened_at,
    )
    assert _state(case)[:15] == before[:15]
    assert ExceptionCase.objects.filter(order_id=case.order_id).count() == 1
    logged = list(CaseEvent.objects.filter(case=case).order_by("pk").values_list("type", "data"))
    if codes != ["ADDRESS_LEVEL_SUGGESTED"]:
        assert logged[-1] == (
            "findings_changed",
            {"before": ["ADDRESS_LEVEL_SUGGESTED"], "after": codes},
        )
    assert "resolved" not in [t for t, _d in logged]
    corrected = OrderEvent.objects.filter(order_id=case.order_id, type="corrected").get()
    assert (sorted(corrected.data["changed"]), corrected.data["reason"]) == (sorted(changes), "买家来电")


def test_a_correction_refused_for_a_bad_value_changes_neither_the_order_nor_the_case(client, address_case):
    """A value the field cannot hold: 422 naming the field, the order and the case unchanged."""
    case = address_case
    order = Order.objects.get(pk=case.order_id)
    before = (_state(case), order.address_received, order.findings, order.updated_at)
    client.force_login(user_with_role("cs_agent"))

    response = _post(
        client,
        f"/api/v1/orders/{case.order_id}/correct",
        {"changes": {"province": "浙江省", "city": "x" * 51}},
    )

    assert (response.status_code, response.json()["ok"], response.json()["error"]["code"]) == (
        422,
        False,
        "INVALID_INPUT",
    )
    assert "city" in response.json()["error"]["field"]
    order.refresh_from_db()
    assert (_state(case), order.address_received, order.findings, order.updated_at) == before
    assert not OrderEvent.objects.filter(order=order, type="corrected").exists()
