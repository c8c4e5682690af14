"""Imports started from the imports page: the batch first, the files on disk, the work in a job.

The page creates the batch (status running) and stores the files under
``VAR_DIR/uploads/<batch id>/``, then a Huey job (`intake.tasks.import_run`) runs the import
into that batch, so the page can show progress while it runs. The stored files hold personal
data: they are deleted once the batch has finished, whether it succeeded or failed.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from orderguard.core import clock
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.masterdata import catalog_import, stock_import
from orderguard.intake.models import ImportBatch, ImportKind, ImportRowError, ImportStatus
from orderguard.intake.services import files_digest, orders_import
from orderguard.orders.models import Channel
from orderguard.tenancy.models import Merchant


def upload_max_bytes() -> int:
    """The most an upload of files may hold in all (``IMPORT_MAX_UPLOAD_BYTES``, 50 MiB)."""
    return int(getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))


def upload_dir(batch_id: int) -> Path:
    return Path(settings.VAR_DIR) / "uploads" / str(batch_id)


def import_batch_start(
    *,
    kind: ImportKind,
    files: Sequence[SourceFile],
    actor_label: str,
    channel: Channel | None = None,
    merchant: Merchant | None = None,
    format: str = "auto",
) -> tuple[ImportBatch, list[str]]:
    """Create a running batch and store its files; returns the batch and the stored paths.

    Orders need `channel` (the batch's merchant is the channel's); catalog and stock need
    `merchant` and exactly one file. The caller has checked that the actor may import there.
    Stored names are ``<n>_<name>``: two files of the same name stay apart, and no name can
    leave the batch's folder (only its last component is kept).
    """
    if kind == ImportKind.ORDERS:
        assert channel is not None
        merchant_id = channel.merchant_id
    else:
        assert merchant is not None and len(files) == 1
        merchant_id = merchant.pk
        format = "table"
    batch = ImportBatch.objects.create(
        kind=kind,
        merchant_id=merchant_id,
        channel=channel,
        format=format,
        file_names=[f.name for f in files],
        sha256=files_digest(files),
        actor_label=actor_label,
        started_at=clock.now(),
    )
    folder = upload_dir(batch.pk)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, f in enumerate(files):
        path = folder / f"{n:02d}_{Path(f.name).name or 'file'}"
        path.write_bytes(f.data)
        paths.append(str(path))
    return batch, paths


def import_batch_run(*, batch_id: int, paths: Sequence[str]) -> ImportBatch | None:
    """Run the import of a batch made by `import_batch_start` (the job's body).

    Safe to run twice: a batch that is no longer running is left alone. A batch still running
    (its worker died) is run again from its stored files: its errors and counts start afresh,
    and the orders already written are found unchanged. Any exception marks the batch failed
    before it propagates, so no batch stays "running" for ever. The stored files are deleted
    when the run ends.
    """
    batch = ImportBatch.objects.select_related("channel", "merchant").filter(pk=batch_id).first()
    if batch is None or batch.status != ImportStatus.RUNNING:
        return batch
    folder = upload_dir(batch.pk).resolve()
    try:
        files = []
        for name, raw in zip(batch.file_names, paths, strict=True):
            path = Path(raw).resolve()
            if folder not in path.parents:
                raise ValueError(f"{raw} is not a file of batch {batch.pk}")
            files.append(SourceFile(name, path.read_bytes()))
        ImportRowError.objects.filter(batch=batch).delete()
        batch.rows_total = batch.rows_failed = batch.created = batch.updated = 0
        batch.unchanged = batch.cases_opened = 0
        if batch.kind == ImportKind.ORDERS:
            assert batch.channel is not None
            return orders_import(
                files=files,
                channel=batch.channel,
                format=batch.format or "auto",
                actor_label=batch.actor_label,
                batch=batch,
            )
        assert batch.merchant is not None
        run = catalog_import if batch.kind == ImportKind.CATALOG else stock_import
        return run(file=files[0], merchant=batch.merchant, actor_label=batch.actor_label, batch=batch)
    except Exception:
        ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED, finished_at=clock.now()
        )
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
