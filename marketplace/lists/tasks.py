"""Staged CSV imports run by the worker."""

from __future__ import annotations

from flask import current_app

from marketplace.core.extensions import db
from marketplace.core.tasks import db_task, first_delivery
from marketplace.lists.csv_import import StagedImports
from marketplace.lists.import_progress import ImportProgress


@db_task("run_list_import", max_retries=3, time_limit=600)
def run_list_import(import_id: int, outbox_id: int | None = None) -> str:
    """Import a collector's uploaded CSV (queued by the import pages); its
    progress is readable while the transaction is still open."""
    if not first_delivery(outbox_id):
        return "skipped"
    store = ImportProgress.for_instance(
        current_app.config["SETTINGS"].redis_url, current_app.instance_path
    )
    result = StagedImports(db.session()).run(
        import_id, progress=lambda done, total: store.set(import_id, done, total)
    )
    if result is None:
        return "skipped"
    return "imported" if result.applied else "refused"
