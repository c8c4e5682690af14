"""Refusals of case actions. They carry data (`code`, the case ids at fault); the API and the
pages map the code, nobody parses the message."""

from __future__ import annotations

from typing import Any

from orderguard.core.errors import DomainError


class CaseActionNotAllowed(DomainError):
    """An action on cases that the rules refuse. `code` says why:

    - ``ROLE``: the actor is not warehouse staff (merchant users do not assign);
    - ``CASE_CLOSED``: the case is resolved or cancelled (`case_ids` names them);
    - ``ASSIGNEE_UNKNOWN``: no user with that id or username;
    - ``ASSIGNEE_NOT_ELIGIBLE``: the user is inactive or not warehouse staff;
    - ``ACTION_ROLE``: the actor's role may not take this action (reopen: managers, admins);
    - ``TRANSITION_NOT_ALLOWED``: the machine forbids the move (`action`, `source`, `target`);
    - ``OUTCOME_INVALID``: resolving needs "succeeded" or "failed"; other actions take none;
    - ``NOTE_REQUIRED``: the action needs a reason, or a note is empty;
    - ``NOTE_INVALID``: a note too long (`max_length`) or with control characters;
    - ``OPEN_CASE_EXISTS``: reopening would make a second open case of the order's type
      (`other_case_id`);
    - ``REVEAL_NOT_ALLOWED``: the actor's role may not see recipient data in clear;
    - ``CONTACT_INVALID``: a contact attempt's channel or outcome is unknown or does not go
      with the channel (`field`, `value`, `allowed`).
    """

    ROLE = "ROLE"
    CASE_CLOSED = "CASE_CLOSED"
    ASSIGNEE_UNKNOWN = "ASSIGNEE_UNKNOWN"
    ASSIGNEE_NOT_ELIGIBLE = "ASSIGNEE_NOT_ELIGIBLE"
    ACTION_ROLE = "ACTION_ROLE"
    TRANSITION_NOT_ALLOWED = "TRANSITION_NOT_ALLOWED"
    OUTCOME_INVALID = "OUTCOME_INVALID"
    NOTE_REQUIRED = "NOTE_REQUIRED"
    NOTE_INVALID = "NOTE_INVALID"
    OPEN_CASE_EXISTS = "OPEN_CASE_EXISTS"
    REVEAL_NOT_ALLOWED = "REVEAL_NOT_ALLOWED"
    CONTACT_INVALID = "CONTACT_INVALID"

    def __init__(self, *, code: str, **data: Any) -> None:
        self.code = code
        super().__init__(code, **data)
