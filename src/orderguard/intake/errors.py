"""Per-row import errors: every rejected row names its file, row and field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one row of an input file.

    `row` is the row number a person sees in a spreadsheet (the header is row 1, the first data
    row is row 2; for JSON, the 1-based index of the object in its list; 0 when the problem is
    with the whole file). `code` is stable (``FIELD_MISSING``); `message` is plain zh-Hans/English
    text built from the code by the caller's language, `value` is the offending value shortened.
    """

    file: str
    row: int
    field: str
    code: str
    message: str
    value: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "row": self.row,
            "field": self.field,
            "code": self.code,
            "message": self.message,
            "value": self.value,
        }


class FileRejected(Exception):
    """The whole file cannot be read (wrong encoding, not a spreadsheet, zip bomb, empty)."""

    def __init__(self, *, file: str, code: str, message: str) -> None:
        super().__init__(message)
        self.error = RowError(file=file, row=0, field="", code=code, message=message)
