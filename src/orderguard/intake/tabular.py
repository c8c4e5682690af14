"""Reading uploaded files safely, and the small parsers every adapter shares.

`read_table` turns a CSV, XLSX or HTML-table "xls" into header names and rows of stripped cell
strings; `read_json` parses a JSON upload. Both raise `FileRejected` with a stable code when
the whole file cannot be read, and never crash on a hostile or truncated file:

- The kind of file is told by its first bytes, never by its name: ``PK\\x03\\x04`` is a zip
  (XLSX), ``D0 CF 11 E0`` an old binary .xls (refused: ``FILE_XLS_UNSUPPORTED``), ``<`` with
  ``<table``/``<html`` an HTML table that Taobao/JD call ".xls" (parsed), ``{``/``[`` JSON,
  anything else text (CSV). The name only decides errors: a ``.xlsx`` that is not a zip is
  ``FILE_NOT_SPREADSHEET`` (a text ``.xls`` is read as CSV: ERPs export TSV under that name),
  and undecodable bytes are ``FILE_NOT_SPREADSHEET`` under a spreadsheet name, else
  ``FILE_ENCODING``.
- CSV text is UTF-8 (with or without BOM), UTF-16 when a BOM says so (Excel "Unicode text",
  tab-delimited) or else GB18030 (a superset of GBK, what Chinese Excel and Taobao write). The
  whole file is checked before the first row is returned, so a file is never half-read in the
  wrong encoding. The delimiter is the most frequent of ``,`` ``\\t`` ``;`` in the header line.
- XLSX is opened by openpyxl in read-only mode (it parses XML with defusedxml) after a zip-bomb
  check on the declared sizes: total uncompressed size, compression ratio per member and
  member count. Declared sizes are a safe bound: Python's zipfile stops a member at its
  declared size. Only the first worksheet is read.

Row numbers are the ones a person sees in a spreadsheet: every physical record counts
(header row 1, blank rows too), blank rows are skipped. A row that cannot be read whole is not
dropped silently: it comes out as a `BadRow` with its error and whatever cells were readable,
so the adapter can reject the order the row belongs to.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import io
import itertools
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from orderguard.intake.errors import FileRejected, RowError

if TYPE_CHECKING:
    # not imported at run time: adapters/__init__ imports the adapters, which import this module
    from orderguard.intake.adapters.base import SourceFile

SHANGHAI = ZoneInfo("Asia/Shanghai")

DEFAULT_MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_COMPRESSION_RATIO = 200
# A real workbook has a few dozen members; thousands only serve to blow up the central directory.
MAX_ZIP_MEMBERS = 10_000
MAX_QUANTITY = 100_000

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et")
_VALIDATE_CHUNK = 4 * 1024 * 1024
_VALUE_MAX = 80


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not be read whole: `cells` holds what could be read (may be empty)."""

    row: int
    cells: dict[str, str]
    error: RowError


@dataclass(slots=True)
class Table:
    """Headers (stripped; trailing empty header cells dropped) and a lazy, one-pass row iterator.

    `rows` yields ``(row_number, {header: stripped cell})`` for each non-blank row and a
    `BadRow` for a row that is truncated, has cells beyond the headers, or is malformed CSV.
    A header that is empty in the middle of the header row maps to the key ``""``.
    `records` is the same stream with each row as a list of stripped cells in header order
    (always ``len(headers)`` long), for adapters that read 100k rows and skip the dicts.
    Iterate one of the two, once.

    `needs_cleaning` is False when the file cannot contain anything `clean_text` would change
    (no apostrophe, ``="``, full-width or no-break space anywhere in a CSV's bytes), so an
    adapter may skip cleaning row by row.
    """

    file: str
    kind: str  # "csv" | "xlsx" | "html"
    headers: list[str]
    header_row: int
    records: Iterator[tuple[int, list[str]] | BadRow] = field(repr=False)
    # CSV bytes and encoding, scanned on first use of `needs_cleaning` (detection never asks)
    _raw: tuple[bytes, str] | None = field(default=None, repr=False)

    @property
    def needs_cleaning(self) -> bool:
        if self._raw is None:
            return True
        return _may_hold_quirks(*self._raw)

    @property
    def rows(self) -> Iterator[tuple[int, dict[str, str]] | BadRow]:
        headers = self.headers
        for item in self.records:
            if type(item) is BadRow:
                yield item
            else:
                row_no, cells = item  # type: ignore[misc]
                yield row_no, dict(zip(headers, cells, strict=True))


# --- messages ---------------------------------------------------------------------------------


def shorten(value: object) -> str:
    """The offending value as shown in an error: text, cut to a readable length."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _VALUE_MAX else text[: _VALUE_MAX - 1] + "…"


def row_error(
    *, file: str, row: int, field: str, code: str, template: str, value: object = "", **params: object
) -> RowError:
    """Build a `RowError` whose message is `template` (already passed through gettext) filled
    with ``file``, ``row``, ``field``, ``value`` and `params`."""
    shown = shorten(value) if value not in ("", None) else ""
    message = template % {"file": file, "row": row, "field": field, "value": shown, **params}
    return RowError(file=file, row=row, field=field, code=code, message=message, value=shown)


def json_order_id(
    *,
    file: str,
    index: int,
    obj: Any,
    key: str,
    text: Callable[[Any], str | None],
    seen: dict[str, int],
    errors: list[RowError],
) -> str | None:
    """The id (under `key`) of the `index`-th order of a JSON file, or None after recording why
    the order is skipped: not an object (``ORDER_NOT_OBJECT``), an id of the wrong type
    (``VALUE_INVALID``), no id (``FIELD_MISSING``), an id met earlier in the file
    (``DUPLICATE_ORDER``; the first one is kept). `text` turns a JSON value into text, None for
    a value of the wrong type. Every JSON adapter starts an order with this."""
    if not isinstance(obj, dict):
        errors.append(
            row_error(
                file=file,
                row=index,
                field="",
                code="ORDER_NOT_OBJECT",
                template=_("%(file)s 第 %(row)d 个订单应为对象（{...}），实际是“%(value)s”，未导入"),
                value=obj,
            )
        )
        return None
    raw = obj.get(key)
    order_id = text(raw)
    if order_id is None:
        errors.append(
            row_error(
                file=file,
                row=index,
                field=key,
                code="VALUE_INVALID",
                template=_(
                    "%(file)s 第 %(row)d 个订单：%(field)s 的值“%(value)s”类型不对，订单 %(order)s 未导入"
                ),
                value=raw,
                order="",
            )
        )
        return None
    if not order_id:
        errors.append(
            row_error(
                file=file,
                row=index,
                field=key,
                code="FIELD_MISSING",
                template=_("%(file)s 第 %(row)d 个订单：缺少必填字段 %(field)s，该订单未导入"),
            )
        )
        return None
    earlier = seen.get(order_id)
    if earlier is not None:
        errors.append(
            row_error(
                file=file,
                row=index,
                field=key,
                code="DUPLICATE_ORDER",
                template=_(
                    "%(file)s 第 %(row)d 个订单：订单号 %(order)s 与第 %(other_row)d 个订单重复，已跳过"
                ),
                value=order_id,
                order=order_id,
                other_row=earlier,
            )
        )
        return None
    seen[order_id] = index
    return order_id


def _reject(file: SourceFile | str, code: str, message: str) -> FileRejected:
    return FileRejected(file=file if isinstance(file, str) else file.name, code=code, message=message)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is gathered into memory.

    Grouping 100k orders creates a few hundred thousand long-lived objects; each generation-2
    collection walks all of them, which costs about a third of the parse time. Nothing built
    here is cyclic, so postponing collection frees nothing late. Use it only around loops that
    do not yield to the caller (the pause is process-wide).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- cleaning helpers -------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Strip a cell and undo the export tricks that keep a value "text" in Excel.

    ``="35153131473293579"`` (formula text, Taobao ids) becomes ``35153131473293579``, a leading
    apostrophe (``'13900000000``) is dropped, full-width and no-break spaces become plain
    spaces. Anything else is left as written: checks, not adapters, judge values.
    """
    v = value.strip()
    if not v:
        return v
    first = v[0]
    if first == "=":
        if len(v) >= 3 and v[1] == '"' and v[-1] == '"':
            v = v[2:-1].strip()
    elif first == "'":
        v = v[1:].strip()
    if "\u3000" in v or "\xa0" in v:
        v = v.replace("\u3000", " ").replace("\xa0", " ").strip()
    return v


def parse_quantity(value: object) -> int | None:
    """A line quantity: a whole number from 1 to 100000 ("2", "2.0", 2 or 2.0); None otherwise."""
    if type(value) is int:
        n = value
    elif isinstance(value, str):
        text = value.strip()
        if "_" in text:  # int() would read "1_0" as 10
            return None
        try:
            n = int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                return None
            if not f.is_integer():
                return None
            n = int(f)
    elif type(value) is float:
        if not value.is_integer():
            return None
        n = int(value)
    else:
        return None
    return n if 0 < n <= MAX_QUANTITY else None


_DATETIME_FALLBACK_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S",  # non-padded "2024-5-1 9:05:00", which fromisoformat refuses
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y.%m.%d %H:%M:%S",
)


def parse_datetime(value: str) -> datetime | None:
    """ISO 8601 or "YYYY-MM-DD HH:MM:SS" (also with "/" and without zero padding) to an aware
    datetime in Asia/Shanghai. A naive value means Shanghai time; an aware one is converted.
    Empty text is None; anything else raises ValueError."""
    text = value.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _DATETIME_FALLBACK_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(text) from None
    if parsed.tzinfo is None:
        # the constructor, not .replace(tzinfo=...): a third of the cost, and this runs per order
        p = parsed
        return datetime(p.year, p.month, p.day, p.hour, p.minute, p.second, p.microsecond, SHANGHAI)
    return parsed.astimezone(SHANGHAI)


def parse_attributes(text: str) -> dict[str, str]:
    """ "颜色分类:红色;尺码:XL" to {"颜色分类": "红色", "尺码": "XL"}.

    Pairs are separated by ``;`` or ``；``, key and value by the first ``:`` or ``：``. A part
    without a colon is stored under the key ``"variant"``; a repeated key keeps the last value.
    """
    text = text.strip()
    if not text:
        return {}
    if "；" in text:
        text = text.replace("；", ";")
    if "：" in text:
        text = text.replace("：", ":")
    result: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, val = part.partition(":")
        if not sep:
            if key.strip():
                result["variant"] = key.strip()
            continue
        result[key.strip()] = val.strip()
    return result


# Carriers a platform field may name: (label stored in requested_courier, patterns). Latin
# names are matched as whole words ("ups" must not match "groups").
_COURIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("顺丰", ("顺丰", r"\bsf[ -]?express\b", r"\bshunfeng\b")),
    ("EMS", (r"\bems\b", "邮政ems")),
    ("中国邮政", ("中国邮政", "邮政小包", "邮政快递包裹", r"\bchina ?post\b")),
    ("京东物流", ("京东", r"\bjd ?logistics\b", r"\bjdl\b")),
    ("中通", ("中通", r"\bzto\b")),
    ("圆通", ("圆通", r"\byto\b")),
    ("申通", ("申通", r"\bsto ?express\b")),
    ("韵达", ("韵达", r"\byunda\b")),
    ("极兔", ("极兔", r"\bj&t\b", r"\bjt ?express\b")),
    ("德邦", ("德邦", r"\bdeppon\b")),
    ("百世", ("百世", "汇通", r"\bbest ?express\b")),
    ("宅急送", ("宅急送",)),
    ("跨越速运", ("跨越",)),
    ("DHL", (r"\bdhl\b",)),
    ("FedEx", (r"\bfedex\b",)),
    ("UPS", (r"\bups\b",)),
    ("USPS", (r"\busps\b",)),
    ("TNT", (r"\btnt\b",)),
    ("Royal Mail", (r"\broyal ?mail\b",)),
    ("Canada Post", (r"\bcanada ?post\b",)),
    ("Australia Post", (r"\baustralia ?post\b",)),
)
_COURIER_RE = re.compile(
    "|".join(f"(?P<c{i}>{'|'.join(patterns)})" for i, (_label, patterns) in enumerate(_COURIERS)),
    re.IGNORECASE,
)
_EXPRESS_RE = re.compile(
    r"\bexpress\b|\bexpedited\b|\bovernight\b|\bpriority\b|\bnext[ -]?day\b|\bsame[ -]?day\b"
    r"|\b(?:2|two)[ -]?day\b|加急|特快|次日达|当日达|极速",
    re.IGNORECASE,
)


def courier_named_in(text: str) -> str:
    """The carrier a shipping-method text names ("UPS Ground" -> "UPS", "顺丰快递" -> "顺丰"),
    or "" when it names none ("快递", "Free Shipping")."""
    if not text:
        return ""
    match = _COURIER_RE.search(text)
    if match is None:
        return ""
    return _COURIERS[int(match.lastgroup[1:])][0]  # type: ignore[index]


def says_express(text: str) -> bool:
    """Whether a shipping-method text asks for a faster service (express, expedited, overnight,
    priority, next day, 加急, 特快...). A carrier's own name does not count: "SF Express" is a
    company, not a service level."""
    if not text:
        return False
    return _EXPRESS_RE.search(_COURIER_RE.sub(" ", text)) is not None


# --- file kinds -------------------------------------------------------------------------------


def sniff_kind(file: SourceFile) -> str:
    """ "empty", "zip", "xls" (OLE2), "html", "json" or "text", from the first bytes."""
    data = file.data
    if not data:
        return "empty"
    if data.startswith(_ZIP_MAGIC):
        return "zip"
    if data.startswith(_OLE2_MAGIC):
        return "xls"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = data[:4096].decode("utf-16", errors="ignore").encode("utf-8")
    elif data.startswith(codecs.BOM_UTF8):
        head = data[3:4096]
    else:
        head = data[:4096]
    stripped = head.lstrip()
    if not stripped:
        return "empty"
    first = stripped[:1]
    if first in (b"{", b"["):
        return "json"
    if first == b"<":
        lowered = stripped[:2048].lower()
        if b"<table" in lowered or b"<html" in lowered or b"<!doctype html" in lowered:
            return "html"
    return "text"


def _looks_like_spreadsheet_name(name: str) -> bool:
    return name.lower().endswith(_SPREADSHEET_SUFFIXES)


# --- public readers ---------------------------------------------------------------------------


def read_table(file: SourceFile) -> Table:
    """Open `file` as a table; raise `FileRejected` when it cannot be read at all.

    Codes: ``FILE_EMPTY`` (no bytes, or no header row), ``FILE_ENCODING``, ``FILE_ZIP_BOMB``,
    ``FILE_NOT_SPREADSHEET``, ``FILE_XLS_UNSUPPORTED``, ``FILE_HTML_TABLE`` (HTML without a
    table), ``FILE_MALFORMED`` (the header row itself cannot be parsed), ``HEADER_DUPLICATE``.
    A file with headers and no rows gives a `Table` whose `rows` yields nothing.
    """
    kind = sniff_kind(file)
    if kind == "empty":
        raise _reject(file, "FILE_EMPTY", _("文件 %(file)s 是空的") % {"file": file.name})
    if kind == "zip":
        return _read_xlsx(file)
    if kind == "xls":
        raise _reject(
            file,
            "FILE_XLS_UNSUPPORTED",
            _("文件 %(file)s 是旧版 Excel（.xls）格式，无法读取：请在 Excel 中另存为 .xlsx 或 CSV 后再上传")
            % {"file": file.name},
        )
    if kind == "html":
        return _read_html(file)
    lowered = file.name.lower()
    if lowered.endswith((".xlsx", ".xlsm")) or (_looks_like_spreadsheet_name(lowered) and kind != "text"):
        # An .xlsx is always a zip. A text ".xls" is let through: Chinese ERPs export
        # tab-separated text under that name.
        raise _not_spreadsheet(file)
    return _read_csv(file)


def read_json(file: SourceFile) -> Any:
    """Parse a JSON upload. Raise ``FILE_EMPTY``, ``FILE_ENCODING`` (not UTF-8/16/32) or
    ``FILE_JSON_INVALID`` naming the line and column of the syntax error."""
    data = file.data
    if not data.strip():
        raise _reject(file, "FILE_EMPTY", _("文件 %(file)s 是空的") % {"file": file.name})
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise _reject(
            file,
            "FILE_JSON_INVALID",
            _("文件 %(file)s 不是有效的 JSON：第 %(line)d 行第 %(column)d 列，%(reason)s")
            % {"file": file.name, "line": exc.lineno, "column": exc.colno, "reason": exc.msg},
        ) from None
    except UnicodeDecodeError:
        raise _reject(
            file, "FILE_ENCODING", _("文件 %(file)s 不是 UTF-8 编码的 JSON") % {"file": file.name}
        ) from None
    except (RecursionError, ValueError) as exc:
        # nesting too deep, or an integer longer than Python's 4300-digit limit
        raise _reject(
            file,
            "FILE_JSON_INVALID",
            _("文件 %(file)s 不是有效的 JSON：%(reason)s")
            % {"file": file.name, "reason": type(exc).__name__},
        ) from None


# --- CSV --------------------------------------------------------------------------------------


def _not_spreadsheet(file: SourceFile) -> FileRejected:
    return _reject(
        file,
        "FILE_NOT_SPREADSHEET",
        _("文件 %(file)s 不是可读取的电子表格（.xlsx）或 CSV 文件") % {"file": file.name},
    )


def _validates(data: bytes, encoding: str) -> bool:
    """Whether all of `data` decodes, in chunks so a large file is never held twice as text."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        for start in range(0, len(data), _VALIDATE_CHUNK):
            decoder.decode(data[start : start + _VALIDATE_CHUNK], final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _choose_encoding(file: SourceFile) -> str:
    data = file.data
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig" if _validates(data, "utf-8-sig") else _encoding_error(file)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16" if _validates(data, "utf-16") else _encoding_error(file)
    if b"\x00" in data:
        # NUL never occurs in UTF-8 or GBK text: binary, or UTF-16 without its BOM
        return _encoding_error(file)
    for encoding in ("utf-8", "gb18030"):
        if _validates(data, encoding):
            return encoding
    return _encoding_error(file)


def _encoding_error(file: SourceFile) -> str:
    if _looks_like_spreadsheet_name(file.name):
        raise _not_spreadsheet(file)
    raise _reject(
        file,
        "FILE_ENCODING",
        _("文件 %(file)s 的编码无法识别：请保存为 UTF-8 或 GBK 编码的 CSV") % {"file": file.name},
    )


def _text_stream(data: bytes, encoding: str) -> io.TextIOWrapper:
    # newline="": the csv module sees "\r\n" inside quoted cells as written
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")


def _sniff_delimiter(stream: io.TextIOWrapper) -> str:
    sample = ""
    for line in stream:
        if line.strip():
            sample = line
            break
    stream.seek(0)
    counts = {d: sample.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])  # ties keep the first: "," then tab
    return best if counts[best] else ","


def _make_headers(file: SourceFile, cells: Iterable[str]) -> list[str]:
    headers = [c.replace("\ufeff", "").strip() for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    seen: set[str] = set()
    for h in headers:
        if h and h in seen:
            raise _reject(
                file,
                "HEADER_DUPLICATE",
                _("文件 %(file)s 的表头中列名“%(column)s”出现了不止一次") % {"file": file.name, "column": h},
            )
        seen.add(h)
    return headers


def _read_csv(file: SourceFile) -> Table:
    encoding = _choose_encoding(file)
    stream = _text_stream(file.data, encoding)
    delimiter = _sniff_delimiter(stream)
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    row_no = 0
    headers: list[str] | None = None
    try:
        for cells in reader:
            row_no += 1
            if any(c.strip() for c in cells):
                headers = _make_headers(file, cells)
                break
    except csv.Error as exc:
        raise _reject(
            file,
            "FILE_MALFORMED",
            _("文件 %(file)s 的表头行无法解析：%(reason)s") % {"file": file.name, "reason": str(exc)},
        ) from None
    if not headers:
        raise _reject(file, "FILE_EMPTY", _("文件 %(file)s 没有表头行") % {"file": file.name})
    return Table(
        file=file.name,
        kind="csv",
        headers=headers,
        header_row=row_no,
        records=_csv_records(file, encoding, delimiter, reader, headers, row_no),
        _raw=(file.data, encoding),
    )


# How clean_text's targets look in each encoding's bytes. In UTF-8 and GB18030 the ASCII bytes
# ' = " never occur inside a multi-byte character, so a plain byte search is exact.
_QUIRK_BYTES: dict[str, tuple[bytes, ...]] = {
    "utf-8": (b"'", b'="', "\u3000".encode(), "\xa0".encode()),
    "gb18030": (b"'", b'="', "\u3000".encode("gb18030"), "\xa0".encode("gb18030")),
}
_QUIRK_BYTES["utf-8-sig"] = _QUIRK_BYTES["utf-8"]


def _may_hold_quirks(data: bytes, encoding: str) -> bool:
    patterns = _QUIRK_BYTES.get(encoding)
    if patterns is None:
        return True  # UTF-16: not worth a special case
    return any(p in data for p in patterns)


def _csv_records(
    file: SourceFile,
    encoding: str,
    delimiter: str,
    reader: Any,
    headers: list[str],
    row_no: int,
) -> Iterator[tuple[int, list[str]] | BadRow]:
    n = len(headers)
    name = file.name
    strip = str.strip
    line_end = reader.line_num  # where the last record read ended, to re-read a broken one
    while True:
        try:
            for cells in reader:
                row_no += 1
                if len(cells) != n:
                    odd = _odd_row(name, row_no, headers, cells)
                    line_end = reader.line_num
                    if odd is not None:
                        yield odd
                    continue
                values = list(map(strip, cells))
                line_end = reader.line_num
                if any(values):
                    yield row_no, values
            return
        except csv.Error as exc:
            row_no += 1
            # The C reader has dropped the record; read its lines again leniently so the adapter
            # still learns which order the broken row belonged to.
            partial = _reparse(file.data, encoding, delimiter, line_end, reader.line_num)
            line_end = reader.line_num
            truncated = "end of data" in str(exc)
            yield BadRow(
                row=row_no,
                cells=dict(zip(headers, map(strip, partial), strict=False)),
                error=_bad_row_error(name, row_no, "ROW_TRUNCATED" if truncated else "ROW_MALFORMED"),
            )
            if truncated:
                return


def _odd_row(
    name: str, row_no: int, headers: list[str], cells: list[str]
) -> tuple[int, list[str]] | BadRow | None:
    """A CSV record whose cell count differs from the header's: None when it is blank, the row
    itself when only empty cells stand beyond the headers (trailing delimiters), else a `BadRow`."""
    n, size = len(headers), len(cells)
    if size < n:
        if not any(c.strip() for c in cells):
            return None  # blank line, or a line of delimiters only
        code = "ROW_TRUNCATED"
    elif any(c.strip() for c in cells[n:]):
        code = "ROW_TOO_MANY_CELLS"
    else:
        values = [c.strip() for c in cells[:n]]
        return (row_no, values) if any(values) else None
    return BadRow(
        row=row_no,
        cells=dict(zip(headers, map(str.strip, cells), strict=False)),
        error=_bad_row_error(name, row_no, code, expected=n, found=size),
    )


def _reparse(data: bytes, encoding: str, delimiter: str, start: int, stop: int) -> list[str]:
    lines = itertools.islice(_text_stream(data, encoding), start, max(stop, start + 1))
    try:
        return next(csv.reader(lines, delimiter=delimiter, strict=False), [])
    except csv.Error:
        return []


def _bad_row_error(file: str, row: int, code: str, *, expected: int = 0, found: int = 0) -> RowError:
    if code == "ROW_TRUNCATED" and expected:
        template = _(
            "%(file)s 第 %(row)d 行不完整：应有 %(expected)d 列，只有 %(found)d 列（文件可能被截断）"
        )
    elif code == "ROW_TRUNCATED":
        template = _("%(file)s 第 %(row)d 行不完整：引号未闭合就到了文件末尾（文件可能被截断）")
    elif code == "ROW_TOO_MANY_CELLS":
        template = _(
            "%(file)s 第 %(row)d 行有 %(found)d 列，比表头的 %(expected)d 列多（单元格中可能有未加引号的分隔符）"
        )
    else:
        template = _("%(file)s 第 %(row)d 行的引号格式错误，无法解析")
    return row_error(
        file=file, row=row, field="", code=code, template=template, expected=expected, found=found
    )


# --- XLSX -------------------------------------------------------------------------------------


def check_zip_bomb(file: SourceFile) -> None:
    """Refuse a zip whose declared contents would blow up memory (``FILE_ZIP_BOMB``), or that is
    no zip at all (``FILE_NOT_SPREADSHEET``). Limits come from settings
    ``IMPORT_MAX_UNCOMPRESSED_BYTES`` and ``IMPORT_MAX_COMPRESSION_RATIO``."""
    max_total = int(getattr(settings, "IMPORT_MAX_UNCOMPRESSED_BYTES", DEFAULT_MAX_UNCOMPRESSED_BYTES))
    max_ratio = float(getattr(settings, "IMPORT_MAX_COMPRESSION_RATIO", DEFAULT_MAX_COMPRESSION_RATIO))
    try:
        with zipfile.ZipFile(io.BytesIO(file.data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise _not_spreadsheet(file) from None
    bomb = _("文件 %(file)s 解压后过大（%(reason)s），疑似压缩炸弹，已拒绝")
    if len(members) > MAX_ZIP_MEMBERS:
        raise _reject(file, "FILE_ZIP_BOMB", bomb % {"file": file.name, "reason": f"{len(members)} members"})
    total = 0
    for member in members:
        total += member.file_size
        if total > max_total:
            raise _reject(file, "FILE_ZIP_BOMB", bomb % {"file": file.name, "reason": f"> {max_total} bytes"})
        if member.file_size > max_ratio * max(member.compress_size, 1):
            ratio = member.file_size / max(member.compress_size, 1)
            raise _reject(
                file,
                "FILE_ZIP_BOMB",
                bomb % {"file": file.name, "reason": f"{member.filename} ratio {ratio:.0f}:1"},
            )


def cell_text(value: object) -> str:
    """A spreadsheet cell as text: whole floats without ".0" (13900000000.0 -> "13900000000"),
    dates and times as ISO 8601, None as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    kind = type(value)
    if kind is float:
        f: float = value  # type: ignore[assignment]
        return str(int(f)) if f.is_integer() else repr(f)
    if kind is int:
        return str(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


def _open_workbook(file: SourceFile) -> Any:
    check_zip_bomb(file)
    import openpyxl  # imported here: only XLSX uploads pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(file.data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises KeyError, InvalidFileException, XML errors... for non-workbooks
        raise _not_spreadsheet(file) from None
    if not workbook.worksheets:
        workbook.close()
        raise _not_spreadsheet(file)
    return workbook


def _sheet_values(sheet: Any) -> Iterator[tuple[Any, ...]]:
    # The stored dimension may be wrong (some exporters write "A1"), and read-only openpyxl
    # stops at it: read what is there.
    sheet.reset_dimensions()
    return sheet.iter_rows(values_only=True)


def _read_xlsx(file: SourceFile) -> Table:
    workbook = _open_workbook(file)
    return _table_from_value_rows(file, "xlsx", _sheet_values(workbook.worksheets[0]), close=workbook.close)


def read_workbook_sheets(file: SourceFile) -> Iterator[tuple[str, Table]]:
    """Every worksheet of an XLSX as ``(sheet title, Table)``, skipping sheets without a header
    row; raise ``FILE_EMPTY`` when no sheet has one. Any other file gives one table named after
    the file's stem ("couriers.csv" -> "couriers"). Read each table's rows before the next."""
    if sniff_kind(file) != "zip":
        yield file.name.rsplit("/", 1)[-1].rsplit(".", 1)[0], read_table(file)
        return
    workbook = _open_workbook(file)
    found = False
    try:
        for sheet in workbook.worksheets:
            try:
                table = _table_from_value_rows(file, "xlsx", _sheet_values(sheet))
            except FileRejected as exc:
                if exc.error.code == "FILE_EMPTY":
                    continue
                raise
            found = True
            yield sheet.title, table
    finally:
        workbook.close()
    if not found:
        raise _reject(file, "FILE_EMPTY", _("文件 %(file)s 没有表头行") % {"file": file.name})


def _table_from_value_rows(
    file: SourceFile, kind: str, value_rows: Iterator[tuple[Any, ...]], close: Any = None
) -> Table:
    row_no = 0
    headers: list[str] | None = None
    try:
        for raw in value_rows:
            row_no += 1
            cells = [cell_text(v) for v in raw]
            if any(cells):
                headers = _make_headers(file, cells)
                break
    except FileRejected:
        if close:
            close()
        raise
    except Exception:
        if close:
            close()
        raise _not_spreadsheet(file) from None
    if not headers:
        if close:
            close()
        raise _reject(file, "FILE_EMPTY", _("文件 %(file)s 没有表头行") % {"file": file.name})
    return Table(
        file=file.name,
        kind=kind,
        headers=headers,
        header_row=row_no,
        records=_value_records(file, value_rows, headers, row_no, close),
    )


def _value_records(
    file: SourceFile, value_rows: Iterator[tuple[Any, ...]], headers: list[str], row_no: int, close: Any
) -> Iterator[tuple[int, list[str]] | BadRow]:
    n = len(headers)
    try:
        while True:
            try:
                raw = next(value_rows)
            except StopIteration:
                return
            except Exception:
                # a sheet whose XML breaks half-way is not a spreadsheet we can trust
                raise _not_spreadsheet(file) from None
            row_no += 1
            cells = [cell_text(v) for v in raw]
            # spreadsheets leave trailing empty cells out: a short row is not truncated
            if len(cells) > n and any(cells[n:]):
                yield BadRow(
                    row=row_no,
                    cells=dict(zip(headers, cells, strict=False)),
                    error=_bad_row_error(
                        file.name, row_no, "ROW_TOO_MANY_CELLS", expected=n, found=len(cells)
                    ),
                )
                continue
            if not any(cells):
                continue
            if len(cells) != n:
                cells = cells[:n] if len(cells) > n else cells + [""] * (n - len(cells))
            yield row_no, cells
    finally:
        if close:
            close()


# --- HTML tables ("xls" files that are web pages) ----------------------------------------------


class _FirstTableParser(HTMLParser):
    """Collects the cell texts of the first top-level <table>; ignores nested tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.depth = 0
        self.done = False
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._pad = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth += 1
        elif self.depth != 1:
            return
        elif tag == "tr":
            self._finish_row()
            self._row = []
        elif tag in ("td", "th"):
            self._finish_cell()
            if self._row is None:
                self._row = []
            self._cell = []
            span = dict(attrs).get("colspan") or "1"
            self._pad = int(span) - 1 if span.isdigit() and 1 < int(span) <= 100 else 0
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if tag == "table":
            if self.depth == 1:
                self._finish_row()
                self.done = True
            self.depth -= 1
        elif self.depth == 1 and tag in ("td", "th"):
            self._finish_cell()
        elif self.depth == 1 and tag == "tr":
            self._finish_row()

    def handle_data(self, data: str) -> None:
        if self._cell is not None and self.depth == 1 and not self.done:
            self._cell.append(data)

    def _finish_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._row.extend([""] * self._pad)
        self._cell = None
        self._pad = 0

    def _finish_row(self) -> None:
        self._finish_cell()
        if self._row is not None:
            self.rows.append(self._row)
        self._row = None


def _read_html(file: SourceFile) -> Table:
    encoding = _choose_encoding(file)
    parser = _FirstTableParser()
    parser.feed(file.data.decode(encoding))
    parser.close()
    if not parser.rows:
        raise _reject(
            file,
            "FILE_HTML_TABLE",
            _("文件 %(file)s 是网页（HTML）而不是表格，其中没有可读取的表格：请导出为 CSV 或 .xlsx")
            % {"file": file.name},
        )
    return _table_from_value_rows(file, "html", iter([tuple(r) for r in parser.rows]))
