"""Background ingestion: one interface (`submit(document_id)`), an in-process backend.

The in-process runner is a thread pool inside the web process: nothing to install,
right for one machine. Jobs are keyed by document id and idempotent (`documents.process`
claims the row first), so submitting twice or recovering after a restart never
indexes a document twice.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from sqlalchemy import select

log = logging.getLogger(__name__)


def run_document_job(app, document_id):
    """Run one ingestion job inside an app context (used by every backend)."""
    from pybo.extensions import db
    from pybo.rag_chat import documents

    with app.app_context():
        try:
            return documents.process(document_id)
        finally:
            db.session.remove()


class InProcessRunner:
    name = "in-process"

    def __init__(self, app, workers=1):
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
        self._futures = set()
        self._lock = threading.Lock()

    def submit(self, document_id):
        future = self.pool.submit(run_document_job, self.app, document_id)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future):
        with self._lock:
            self._futures.discard(future)
        exc = future.exception()
        if exc is not None:
            log.error("ingestion job failed: %r", exc)

    def recover(self):
        """Re-submit documents left pending/processing by a previous process."""
        from pybo.extensions import db
        from pybo.rag_chat.models import PENDING, PROCESSING, Document

        with self.app.app_context():
            ids = list(
                db.session.scalars(
                    select(Document.id).where(Document.status.in_((PENDING, PROCESSING)))
                )
            )
            db.session.remove()
        for document_id in ids:
            self.submit(document_id)
        if ids:
            log.info("recovered %d unfinished ingestion jobs", len(ids))
        return ids

    def wait(self, timeout=None):
        """Block until every submitted job has finished (tests and the CLI)."""
        with self._lock:
            pending = set(self._futures)
        wait_futures(pending, timeout=timeout)


def make_runner(app):
    runner = InProcessRunner(app, workers=app.config["JOB_WORKERS"])
    if not app.testing:
        try:
            runner.recover()
        except Exception:  # noqa: BLE001 - e.g. tables not migrated yet
            log.exception("could not recover unfinished jobs")
    return runner
