"""The contact ladder as data (H2, B2): call, call again, SMS, then the merchant. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from orderguard.cases.ladder import (
    OUTCOMES_FOR,
    Attempt,
    ContactChannel,
    ContactOutcome,
    LadderPolicy,
    Step,
    next_step,
)

C, R = ContactChannel, ContactOutcome
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_whole_ladder_when_nobody_answers():
    seen: list[Attempt] = []
    plan = [next_step(seen, opened_at=T0, sms_possible=True)]
    seen.append(Attempt(C.CALL, R.NO_ANSWER, at(5)))
    plan.append(next_step(seen, opened_at=T0, sms_possible=True))
    seen.append(Attempt(C.CALL, R.POWERED_OFF, at(40)))
    plan.append(next_step(seen, opened_at=T0, sms_possible=True))
    seen.append(Attempt(C.SMS, R.SENT, at(41)))
    plan.append(next_step(seen, opened_at=T0, sms_possible=True))
    seen.append(Attempt(C.MERCHANT, R.ASKED, at(161)))
    plan.append(next_step(seen, opened_at=T0, sms_possible=True))

    assert plan == [
        Step(C.CALL, T0, "first_call"),
        Step(C.CALL, at(35), "call_again"),
        Step(C.SMS, at(40), "calls_not_through"),
        Step(C.MERCHANT, at(161), "sms_unanswered"),
        None,
    ]


def test_a_reached_buyer_or_an_answered_sms_ends_the_ladder():
    assert next_step([Attempt(C.CALL, R.REACHED, at(1))], opened_at=T0, sms_possible=True) is None
    calls = [Attempt(C.CALL, R.BUSY, at(1)), Attempt(C.CALL, R.BUSY, at(31)), Attempt(C.SMS, R.SENT, at(32))]
    assert next_step([*calls, Attempt(C.SMS, R.REPLIED, at(50))], opened_at=T0, sms_possible=True) is None


def test_a_dead_number_goes_to_the_merchant_at_once():
    step = next_step([Attempt(C.CALL, R.NOT_EXIST, at(3))], opened_at=T0, sms_possible=True)
    assert step == Step(C.MERCHANT, at(3), "dead_number")


def test_a_number_that_cannot_take_an_sms_skips_to_the_merchant():
    calls = [Attempt(C.CALL, R.NO_ANSWER, at(1)), Attempt(C.CALL, R.NO_ANSWER, at(31))]
    assert next_step(calls, opened_at=T0, sms_possible=False) == Step(C.MERCHANT, at(31), "no_sms")
    failed = [*calls, Attempt(C.SMS, R.FAILED, at(32))]
    assert next_step(failed, opened_at=T0, sms_possible=True) == Step(C.MERCHANT, at(32), "no_sms")


def test_the_policy_sets_the_number_of_calls_and_the_waits():
    policy = LadderPolicy(calls=3, call_retry_minutes=10, sms_wait_minutes=60)
    calls = [Attempt(C.CALL, R.NO_ANSWER, at(1)), Attempt(C.CALL, R.NO_ANSWER, at(11))]
    assert next_step(calls, opened_at=T0, sms_possible=True, policy=policy) == Step(
        C.CALL, at(21), "call_again"
    )


def test_every_channel_has_outcomes_and_no_outcome_is_shared_by_calls_and_texts():
    assert set(OUTCOMES_FOR) == set(ContactChannel)
    assert not set(OUTCOMES_FOR[C.CALL]) & set(OUTCOMES_FOR[C.SMS])


@given(
    st.lists(
        st.sampled_from([(c, o) for c, outcomes in OUTCOMES_FOR.items() for o in outcomes]),
        max_size=8,
    )
)
def test_the_ladder_never_goes_back_in_time_and_always_ends(history):  # type: ignore[no-untyped-def]
    """Whatever was recorded, the next rung is never before the case opened, and once the
    merchant has been asked nothing more is planned."""
    attempts = [Attempt(c, o, at(10 * i + 1)) for i, (c, o) in enumerate(history)]
    step = next_step(attempts, opened_at=T0, sms_possible=True)
    if step is not None:
        assert step.at >= T0
    if any(a.outcome == R.ASKED for a in attempts):
        assert step is None
