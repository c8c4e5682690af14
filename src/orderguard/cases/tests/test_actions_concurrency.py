"""Two people acting on the same case at the same moment: the row lock (PostgreSQL) or the
write lock (SQLite, IMMEDIATE transactions) serialises them, so the second sees the first's
move and is refused by the machine; the log has one event."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connections

from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.machine import ActionName
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import case_transition
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_two_agents_resolving_one_case_at_once_resolve_it_once():
    case = ExceptionCaseFactory()
    actors = [actor_for(user_with_role("cs_agent", username=name)) for name in ("ann", "bob")]
    refused: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run(actor) -> None:  # type: ignore[no-untyped-def]
        try:
            start.wait()
            case_transition(
                case_id=case.pk,
                action=ActionName.RESOLVE,
                actor=actor,
                now=NOW,
                outcome="succeeded",
                note="好了",
            )
        except CaseActionNotAllowed as exc:
            refused.append(exc.code)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert [t.is_alive() for t in threads] == [False, False]
    assert (failures, refused) == ([], ["TRANSITION_NOT_ALLOWED"])
    assert ExceptionCase.objects.get(pk=case.pk).status == "resolved"
    assert list(CaseEvent.objects.filter(case=case).values_list("type", flat=True)) == ["resolved"]
