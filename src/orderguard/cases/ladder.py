"""The contact ladder (H2, H3, B2), as data: call the buyer, then SMS, then ask the merchant,
without anyone having to remember the next rung.

Pure (no database). `next_step` reads a case's contact attempts and says what comes next and
when; `cases.services.contact_record` stores an attempt a person made and the new plan, and
the periodic `contacts_advance` takes the rungs that need no person (the SMS, the request to
the merchant) when their time comes.

The rules (`LadderPolicy` holds the numbers):

1. No attempt yet: call now (H2.1).
2. A call that did not get through (no answer, busy, powered off): call again after
   `call_retry_minutes`, up to `calls` calls.
3. Calls used up: an SMS asking the buyer to call back or correct the order (H2.2), when the
   number can take one (a plain mobile; not a masked or a virtual number); else straight to 5.
4. After the SMS, `sms_wait_minutes` for the buyer to answer.
5. Still nobody: ask the merchant for the correct data (H2.3).

A number that does not exist or belongs to someone else skips to the merchant at once; a
buyer reached, an SMS answered or a merchant asked ends the ladder (the case is then worked by
a person: correct the order, H2.4, or wait for the merchant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactChannel(models.TextChoices):
    CALL = "call", _("电话")
    SMS = "sms", _("短信")
    MERCHANT = "merchant", _("联系商家")


class ContactOutcome(models.TextChoices):
    REACHED = "reached", _("已接通")
    NO_ANSWER = "no_answer", _("无人接听")
    BUSY = "busy", _("占线")
    POWERED_OFF = "powered_off", _("关机")
    NOT_EXIST = "not_exist", _("空号")
    WRONG_PERSON = "wrong_person", _("非本人")
    REFUSED = "refused", _("拒绝沟通")
    SENT = "sent", _("已发送")
    REPLIED = "replied", _("买家已回复")
    FAILED = "failed", _("发送失败")
    ASKED = "asked", _("已请商家处理")
    ANSWERED = "answered", _("商家已答复")


C, R = ContactChannel, ContactOutcome

# What a person may record for each channel (SENT and ASKED are also written by the system).
OUTCOMES_FOR: dict[ContactChannel, tuple[ContactOutcome, ...]] = {
    C.CALL: (R.REACHED, R.NO_ANSWER, R.BUSY, R.POWERED_OFF, R.NOT_EXIST, R.WRONG_PERSON, R.REFUSED),
    C.SMS: (R.SENT, R.REPLIED, R.FAILED),
    C.MERCHANT: (R.ASKED, R.ANSWERED),
}
CALL_NOT_THROUGH = frozenset({R.NO_ANSWER, R.BUSY, R.POWERED_OFF})
DEAD_NUMBER = frozenset({R.NOT_EXIST, R.WRONG_PERSON})
# The ladder ends: someone answered, or the merchant has the question.
DONE = frozenset({R.REACHED, R.REPLIED, R.REFUSED, R.ASKED, R.ANSWERED})
# The case types that climb it: recipient errors (H2) and product errors confirmed with the
# buyer (H3.1, then the merchant H3.2).
LADDER_TYPES = frozenset({"T2", "T3"})
# The rungs the system takes by itself.
AUTOMATIC = frozenset({C.SMS, C.MERCHANT})


@dataclass(frozen=True, slots=True)
class LadderPolicy:
    calls: int = 2
    call_retry_minutes: int = 30
    sms_wait_minutes: int = 120


DEFAULT_POLICY = LadderPolicy()


@dataclass(frozen=True, slots=True)
class Attempt:
    channel: ContactChannel
    outcome: ContactOutcome
    at: datetime


@dataclass(frozen=True, slots=True)
class Step:
    """The next rung and when it is due; `why` is a stable code for the page and the log."""

    channel: ContactChannel
    at: datetime
    why: str


def next_step(
    attempts: Sequence[Attempt],
    *,
    opened_at: datetime,
    sms_possible: bool,
    policy: LadderPolicy = DEFAULT_POLICY,
) -> Step | None:
    """The ladder's next rung after `attempts` (oldest first), or None when it has ended."""
    if any(a.outcome in DONE for a in attempts):
        return None
    calls = [a for a in attempts if a.channel == C.CALL]
    texts = [a for a in attempts if a.channel == C.SMS]
    last = attempts[-1] if attempts else None
    if any(a.outcome in DEAD_NUMBER for a in calls):
        return Step(C.MERCHANT, last.at if last else opened_at, "dead_number")
    if not calls:
        return Step(C.CALL, opened_at, "first_call")
    if len(calls) < policy.calls and not texts:
        return Step(C.CALL, calls[-1].at + timedelta(minutes=policy.call_retry_minutes), "call_again")
    sent = [a for a in texts if a.outcome == R.SENT]
    if not sent:
        if sms_possible and not any(a.outcome == R.FAILED for a in texts):
            return Step(C.SMS, calls[-1].at, "calls_not_through")
        return Step(C.MERCHANT, (texts[-1].at if texts else calls[-1].at), "no_sms")
    return Step(C.MERCHANT, sent[-1].at + timedelta(minutes=policy.sms_wait_minutes), "sms_unanswered")
