"""Errors that carry data: callers map `code`, nobody parses messages."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "DOMAIN_ERROR"

    def __init__(self, message: str = "", **data: Any) -> None:
        super().__init__(message or self.code)
        self.data = data

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self), **{k: str(v) for k, v in self.data.items()}}


class AppendOnlyViolation(DomainError):
    code = "APPEND_ONLY"

    def __init__(self, *, model: str) -> None:
        super().__init__(f"{model} rows are append-only", model=model)


class NotFound(DomainError):
    code = "NOT_FOUND"


class InvalidInput(DomainError):
    code = "INVALID_INPUT"
