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
    - ``ASSIGNEE_NOT_ELIGIBLE``: the user is inactive or not warehouse staff.
    """

    ROLE = "ROLE"
    CASE_CLOSED = "CASE_CLOSED"
    ASSIGNEE_UNKNOWN = "ASSIGNEE_UNKNOWN"
    ASSIGNEE_NOT_ELIGIBLE = "ASSIGNEE_NOT_ELIGIBLE"

    def __init__(self, *, code: str, **data: Any) -> None:
        self.code = code
        super().__init__(code, **data)
