"""The imports page: upload order, catalog or stock files, follow the batch, read its row errors.

The upload creates the batch and hands the work to a Huey job, so the page answers at once and
the batch page refreshes itself while the import runs. A channel or merchant the user may not
import into is "not found" (404), exactly like a missing one, and nothing is stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from orderguard.analysis.export import neutralise
from orderguard.core.errors import NotFound
from orderguard.intake.adapters import ADAPTERS
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.models import ImportBatch, ImportKind, ImportRowError, ImportStatus
from orderguard.intake.tasks import import_run
from orderguard.intake.uploads import import_batch_start, upload_max_bytes
from orderguard.orders.models import Channel
from orderguard.tenancy.access import Actor, NoRole, actor_for, get_visible, visible
from orderguard.tenancy.models import Merchant

RECENT_BATCHES = 20
ERRORS_SHOWN = 500
FORMAT_LABELS = {
    "taobao": gettext_lazy("淘宝/天猫（订单报表 + 宝贝报表）"),
    "douyin": gettext_lazy("抖店订单 JSON"),
    "shopify": gettext_lazy("Shopify 订单 JSON"),
    "generic": gettext_lazy("OrderGuard 通用格式"),
}
KINDS = (ImportKind.ORDERS, ImportKind.CATALOG, ImportKind.STOCK)


class _SizeCap(FileUploadHandler):
    """Counts the bytes of every uploaded file and stops reading the upload past the cap, so an
    oversized upload is neither kept in memory nor written to disk."""

    def __init__(self, request: HttpRequest, cap: int) -> None:
        super().__init__(request)
        self.cap = cap
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.cap:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class _MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class _MultipleFileField(forms.FileField):
    widget = _MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else [data] if data else []
        if not items:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [super(_MultipleFileField, self).clean(item, initial) for item in items]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k.value, k.label) for k in KINDS])
    # ids, not model choices: the view checks them against what the user may see, and another
    # merchant's channel is a 404, not a form error that would confirm it exists
    channel = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    merchant = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    format = forms.ChoiceField(
        choices=[
            ("auto", gettext_lazy("自动识别")),
            *((name, FORMAT_LABELS.get(name, name)) for name in ADAPTERS),
        ]
    )
    uploads = _MultipleFileField()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind == ImportKind.ORDERS and not data.get("channel"):
            self.add_error("channel", _("请选择渠道"))
        if kind in (ImportKind.CATALOG, ImportKind.STOCK) and len(data.get("uploads") or []) > 1:
            self.add_error("uploads", _("商品和库存每次只能导入一个文件"))
        return data


def _actor(request: HttpRequest) -> Actor | None:
    try:
        return actor_for(request.user)
    except NoRole:
        return None


def _page(
    request: HttpRequest, actor: Actor, form: ImportForm, *, status: int = 200, refused: str = ""
) -> HttpResponse:
    batches = visible(ImportBatch.objects.select_related("channel", "merchant"), actor).order_by(
        "-started_at", "-pk"
    )[:RECENT_BATCHES]
    channels = visible(Channel.objects.filter(active=True).select_related("merchant"), actor).order_by("code")
    merchants = Merchant.objects.filter(active=True).order_by("code") if actor.merchant_id is None else []
    context = {
        "form": form,
        "batches": batches,
        "channels": channels,
        "merchants": merchants,
        "formats": form.fields["format"].choices,  # type: ignore[attr-defined]
        "kinds": form.fields["kind"].choices,  # type: ignore[attr-defined]
        "max_mib": upload_max_bytes() // (1024 * 1024),
        "refused": refused,
    }
    return render(request, "web/imports.html", context, status=status)


@csrf_exempt
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponse:
    """The upload form and the recent batches the user may see.

    The size cap is an upload handler installed before the body is read (hence csrf_exempt
    here and csrf_protect on the inner view, as Django's documentation does it).
    """
    actor = _actor(request)
    if actor is None:
        return render(request, "web/no_role.html", status=403)
    cap = _SizeCap(request, upload_max_bytes())
    if request.method == "POST":
        request.upload_handlers = [cap, *request.upload_handlers]
    return _imports(request, actor, cap)


@csrf_protect
def _imports(request: HttpRequest, actor: Actor, cap: _SizeCap) -> HttpResponse:
    if request.method != "POST":
        return _page(request, actor, ImportForm(initial={"kind": ImportKind.ORDERS, "format": "auto"}))
    form = ImportForm(request.POST, request.FILES)
    total = sum(f.size or 0 for f in request.FILES.getlist("uploads"))
    if cap.exceeded or total > cap.cap:
        message = _("上传的文件合计超过 %(max)d MiB，未导入任何内容") % {"max": cap.cap // (1024 * 1024)}
        return _page(request, actor, ImportForm(initial=request.POST.dict()), status=413, refused=message)
    if not form.is_valid():
        return _page(request, actor, form, status=400)
    kind = ImportKind(form.cleaned_data["kind"])
    channel: Channel | None = None
    merchant: Merchant | None = None
    try:
        if kind == ImportKind.ORDERS:
            channel = get_visible(Channel.objects.filter(active=True), actor, form.cleaned_data["channel"])
        else:
            posted = form.cleaned_data["merchant"]
            if actor.merchant_id is not None and posted not in (None, actor.merchant_id):
                raise NotFound("not found", model="Merchant", id=posted)
            merchant_id = actor.merchant_id or posted
            if merchant_id is None:
                form.add_error("merchant", _("请选择商家"))
                return _page(request, actor, form, status=400)
            merchant = Merchant.objects.filter(pk=merchant_id, active=True).first()
            if merchant is None:
                raise NotFound("not found", model="Merchant", id=merchant_id)
    except NotFound:
        raise Http404() from None
    files = [SourceFile(f.name or "file", f.read()) for f in form.cleaned_data["uploads"]]
    batch, paths = import_batch_start(
        kind=kind,
        files=files,
        actor_label=actor.label,
        channel=channel,
        merchant=merchant,
        format=form.cleaned_data["format"] if kind == ImportKind.ORDERS else "table",
    )
    import_run(batch.pk, paths)
    return redirect("web:import_batch", batch_id=batch.pk)


def _batch(request: HttpRequest, batch_id: int) -> ImportBatch | None:
    """The batch if the user may see it; None for a user without a role; 404 otherwise."""
    actor = _actor(request)
    if actor is None:
        return None
    try:
        return get_visible(ImportBatch.objects.select_related("channel", "merchant"), actor, batch_id)
    except NotFound:
        raise Http404() from None


@never_cache
@login_required
def import_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    """One batch: status, counts so far (refreshing while it runs) and its first row errors."""
    batch = _batch(request, batch_id)
    if batch is None:
        return render(request, "web/no_role.html", status=403)
    errors = ImportRowError.objects.filter(batch=batch).order_by("file", "row", "pk")
    context = {
        "batch": batch,
        "running": batch.status == ImportStatus.RUNNING,
        "errors": errors[:ERRORS_SHOWN],
        "errors_total": errors.count(),
        "errors_shown": ERRORS_SHOWN,
    }
    return render(request, "web/import_batch.html", context)


def _error_header() -> list[str]:
    return [_("文件"), _("行号"), _("字段"), _("错误代码"), _("说明")]


def _error_rows(batch: ImportBatch) -> Iterator[list[str | int]]:
    for file, row, field, code, message in (
        ImportRowError.objects.filter(batch=batch)
        .order_by("file", "row", "pk")
        .values_list("file", "row", "field", "code", "message")
        .iterator(chunk_size=2000)
    ):
        yield [neutralise(file), row, neutralise(field), neutralise(code), neutralise(message)]


def _download_name(batch: ImportBatch, ext: str) -> str:
    return f'attachment; filename="import-{batch.pk}-errors.{ext}"'


@never_cache
@login_required
def import_errors_xlsx(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The batch's row errors as a spreadsheet (header row, then one row per error)."""
    from openpyxl import Workbook

    batch = _batch(request, batch_id)
    if batch is None:
        return render(request, "web/no_role.html", status=403)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("导入错误"))
    sheet.append(_error_header())
    for row in _error_rows(batch):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = _download_name(batch, "xlsx")
    return response


@never_cache
@login_required
def import_errors_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The batch's row errors as CSV, UTF-8 with a BOM so Excel reads the Chinese right."""
    batch = _batch(request, batch_id)
    if batch is None:
        return render(request, "web/no_role.html", status=403)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_error_header())
    writer.writerows(_error_rows(batch))
    response = HttpResponse(("\ufeff" + out.getvalue()).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _download_name(batch, "csv")
    return response
