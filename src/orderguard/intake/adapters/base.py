"""The adapter interface: platform data in, `OrderIn` (or `RowError`) out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from orderguard.intake.errors import RowError
from orderguard.orders.schema import OrderIn


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One uploaded or named file: its base name (for error messages) and its bytes."""

    name: str
    data: bytes


class OrderAdapter(Protocol):
    """Reads one platform's files.

    `read` yields each order as soon as it is complete, and a `RowError` for each row it rejects
    (a rejected row never yields a partial order: an order with one bad line row is rejected
    whole, with the error naming that row). It raises `FileRejected` when a whole file cannot
    be read. Orders come out in file order; duplicates inside one file are reported as errors
    (``DUPLICATE_ROW`` / ``DUPLICATE_ORDER``) and not yielded twice.
    """

    format: str

    def detect(self, files: list[SourceFile]) -> bool: ...

    def read(self, files: list[SourceFile]) -> Iterator[OrderIn | RowError]: ...
