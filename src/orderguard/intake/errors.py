"""Per-row import errors: every rejected row names its file, row and field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from orderguard.core.errors import DomainError


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


class CorrectionRefused(DomainError):
    """A correction of an order's recipient data that the rules refuse; nothing is written.
    `code` says why:

    - ``ROLE``: the actor is not warehouse staff;
    - ``FIELD_NOT_CORRECTABLE``: `fields` names keys that are not recipient fields;
    - ``VALUE_INVALID``: `fields` names values that are not text or too long for their column;
    - ``ORDER_CLOSED``: the order has shipped or is cancelled (`status`): correcting it would
      put it back in the flow;
    - ``ORDER_ANONYMISED``: the order's personal data was removed; it is closed for good.
    """

    ROLE = "ROLE"
    FIELD_NOT_CORRECTABLE = "FIELD_NOT_CORRECTABLE"
    VALUE_INVALID = "VALUE_INVALID"
    ORDER_CLOSED = "ORDER_CLOSED"
    ORDER_ANONYMISED = "ORDER_ANONYMISED"

    def __init__(self, *, code: str, fields: Sequence[str] = (), **data: Any) -> None:
        self.code = code
        self.fields = list(fields)
        super().__init__(code, fields=",".join(self.fields), **data)


class LinesRefused(DomainError):
    """A change of an order's lines (H3.1) that the rules refuse; nothing is written. `code`
    says why, `field` names the request part at fault (``lines[<i>].sku_code``,
    ``lines[<i>].quantity``, i from 0):

    - ``ROLE``: the actor is not warehouse staff;
    - ``ORDER_CLOSED``: the order has shipped or is cancelled (`status`);
    - ``ORDER_ANONYMISED``: the order's personal data was removed; it is closed for good;
    - ``LINES_INVALID``: no lines, or more than the limit (`field` "lines");
    - ``SKU_UNKNOWN``: no SKU of the merchant has that code;
    - ``SKU_INACTIVE``: the SKU is no longer sold;
    - ``QUANTITY_INVALID``: not a whole number of at least 1 (zero, negative, fractional, text).
    """

    ROLE = "ROLE"
    ORDER_CLOSED = "ORDER_CLOSED"
    ORDER_ANONYMISED = "ORDER_ANONYMISED"
    LINES_INVALID = "LINES_INVALID"
    SKU_UNKNOWN = "SKU_UNKNOWN"
    SKU_INACTIVE = "SKU_INACTIVE"
    QUANTITY_INVALID = "QUANTITY_INVALID"

    def __init__(self, *, code: str, field: str = "", **data: Any) -> None:
        self.code = code
        self.field = field
        super().__init__(code, field=field, **data)


def correction_refusal_message(exc: CorrectionRefused) -> str:
    """A refused correction in words (the page and the API say the same)."""
    return {
        CorrectionRefused.ROLE: _("只有仓库员工可以更正收货信息"),
        CorrectionRefused.FIELD_NOT_CORRECTABLE: _("只能更正收件人姓名、电话和地址"),
        CorrectionRefused.VALUE_INVALID: _("内容过长或含有不允许的字符"),
        CorrectionRefused.ORDER_CLOSED: _("订单已发货或已取消，不能更正收货信息"),
        CorrectionRefused.ORDER_ANONYMISED: _("该订单的个人信息已清除，不能再更正"),
    }.get(exc.code, _("操作未执行"))


def lines_refusal_message(exc: LinesRefused) -> str:
    """A refused change of lines in words (the page and the API say the same)."""
    return {
        LinesRefused.ROLE: _("只有仓库员工可以修改订单商品"),
        LinesRefused.ORDER_CLOSED: _("订单已发货或已取消，不能修改商品"),
        LinesRefused.ORDER_ANONYMISED: _("该订单的个人信息已清除，不能再修改"),
        LinesRefused.LINES_INVALID: _("请填写 1 到 200 行商品"),
        LinesRefused.SKU_UNKNOWN: _("商家没有这个SKU编码"),
        LinesRefused.SKU_INACTIVE: _("这个SKU已停用"),
        LinesRefused.QUANTITY_INVALID: _("数量必须是不小于 1 的整数"),
    }.get(exc.code, _("操作未执行"))
