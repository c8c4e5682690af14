from __future__ import annotations

from huey.contrib.djhuey import db_task

from orderguard.intake.uploads import import_batch_run


@db_task()
def import_run(batch_id: int, paths: list[str]) -> None:
    """Run an import started on the imports page (ids and paths only; safe to run twice)."""
    import_batch_run(batch_id=batch_id, paths=paths)
