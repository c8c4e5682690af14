"""Imports API: upload order files into a channel, follow the batch, read its row errors.

The same path as the imports page: `import_batch_start` stores the files with a running batch,
the `import_run` job imports them, and the answer (202) names the batch to follow. A channel the
caller may not import into is "not found" (404), exactly like a missing one, and nothing is
stored. The upload's total size is bounded by ``IMPORT_MAX_UPLOAD_BYTES`` before any of it is
read (`orderguard.api.middleware.ApiUploadLimitMiddleware`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, ApiError, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_LIMIT, MAX_OFFSET, ChannelCode, object_id
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.models import ImportBatch, ImportKind
from orderguard.intake.selectors import channel_for_import, import_batch_get, import_errors
from orderguard.intake.tasks import import_run
from orderguard.intake.uploads import import_batch_start

router = Router(tags=["imports"], auth=AUTH)


class ImportFormat(StrEnum):
    """auto, or one of `intake.adapters.ADAPTERS`."""

    AUTO = "auto"
    GENERIC = "generic"
    TAOBAO = "taobao"
    SHOPIFY = "shopify"
    DOUYIN = "douyin"


FORM_FIELDS = frozenset({"channel", "format"})
FILE_FIELDS = frozenset({"files"})


class ImportForm(Schema):
    channel: ChannelCode = Field(description="The code of the channel the orders belong to")
    format: ImportFormat = Field(ImportFormat.AUTO, description="auto: recognised from the files")


class ImportBatchOut(Schema):
    id: int
    kind: str
    status: str = Field(description="running, done or failed")
    channel: str | None = Field(description="The channel's code (order imports)")
    merchant: str | None = Field(description="The merchant's code")
    format: str
    files: list[str]
    rows_total: int = Field(description="Orders written or found unchanged so far")
    created: int
    updated: int
    unchanged: int
    cases_opened: int
    errors: int = Field(description="Row errors so far (GET /api/v1/imports/{id}/errors)")
    started_at: datetime
    finished_at: datetime | None


class RowErrorOut(Schema):
    file: str
    row: int = Field(description="The row a spreadsheet shows (header = 1); for JSON the order's position")
    field: str
    code: str
    message: str


class RowErrorPageOut(Schema):
    total: int
    items: list[RowErrorOut]


class ErrorFilters(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _batch(b: ImportBatch) -> dict[str, Any]:
    return {
        "id": b.pk,
        "kind": b.kind,
        "status": b.status,
        "channel": b.channel.code if b.channel is not None else None,
        "merchant": b.merchant.code if b.merchant is not None else None,
        "format": b.format,
        "files": [str(name) for name in b.file_names],
        "rows_total": b.rows_total,
        "created": b.created,
        "updated": b.updated,
        "unchanged": b.unchanged,
        "cases_opened": b.cases_opened,
        "errors": b.rows_failed,
        "started_at": b.started_at,
        "finished_at": b.finished_at,
    }


def _reject_unknown_parts(request: HttpRequest) -> None:
    """A form field or file part the operation does not take is refused, not ignored."""
    for name in request.POST:
        if name not in FORM_FIELDS:
            raise ApiError(422, "INVALID_INPUT", _("请求参数无效"), name)
    for name in request.FILES:
        if name not in FILE_FIELDS:
            raise ApiError(422, "INVALID_INPUT", _("请求参数无效"), name)


@router.post(
    "",
    response=with_errors({202: ImportBatchOut}, *AUTHENTICATED, 404, 413),
    summary="Import order files into a channel (in the background)",
)
def create_import(
    request: HttpRequest,
    form: Form[ImportForm],
    files: File[list[UploadedFile]],
) -> Status[dict[str, Any]]:
    """One or more files of one channel (a Taobao export is its order file and its item file).
    The answer names the batch at once; follow it with GET /api/v1/imports/{id}."""
    reject_unknown_query(request, NoQuery)
    _reject_unknown_parts(request)
    act = actor(request)
    target = channel_for_import(actor=act, code=form.channel)
    uploads = [SourceFile(f.name or "file", f.read()) for f in files]
    batch, paths = import_batch_start(
        kind=ImportKind.ORDERS,
        files=uploads,
        actor_label=act.label,
        channel=target,
        format=form.format.value,
    )
    import_run(batch.pk, paths)
    batch.refresh_from_db()
    return Status(202, _batch(batch))


@router.get(
    "/{batch_id}",
    response=with_errors({200: ImportBatchOut}, *AUTHENTICATED, 404),
    summary="Get an import batch (status and counts)",
)
def get_import(request: HttpRequest, batch_id: int = object_id("The batch's id")) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    return _batch(import_batch_get(actor=actor(request), batch_id=batch_id))


@router.get(
    "/{batch_id}/errors",
    response=with_errors({200: RowErrorPageOut}, *AUTHENTICATED, 404),
    summary="List an import batch's row errors",
)
def list_import_errors(
    request: HttpRequest, filters: Query[ErrorFilters], batch_id: int = object_id("The batch's id")
) -> dict[str, Any]:
    """In file and row order."""
    reject_unknown_query(request, ErrorFilters)
    qs = import_errors(batch=import_batch_get(actor=actor(request), batch_id=batch_id))
    page = qs.values("file", "row", "field", "code", "message")[
        filters.offset : filters.offset + filters.limit
    ]
    return {"total": qs.count(), "items": list(page)}
