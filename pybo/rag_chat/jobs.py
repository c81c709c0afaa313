"""Background ingestion: one interface, two backends.

`runner.submit(document_id, delay=0)` queues the ingestion job of a document:

- in-process (default): a thread pool inside the web process; nothing to install;
- Celery on Redis when `CELERY_BROKER_URL` is set: workers started from the same
  config (`celery -A pybo.worker worker`, `shell/worker.sh`).

Jobs are keyed by document id and idempotent: `ingest_job.process` takes a lease
first, so a job queued twice, recovered after a crash, or retried runs once at a
time and never indexes a document twice. `recover()` runs when a runner or worker
starts: pending documents are queued at once, documents left `processing` are queued
for when their lease runs out.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from sqlalchemy import select

log = logging.getLogger(__name__)
TASK_NAME = "pybo.ingest_document"


def run_document_job(app, document_id):
    """Run one ingestion job inside an app context (both backends)."""
    from pybo.extensions import db
    from pybo.rag_chat import ingest_job

    with app.app_context():
        try:
            return ingest_job.process(document_id)
        finally:
            db.session.remove()


def unfinished(app):
    """[(document_id, delay_seconds)] for documents a previous process left unfinished."""
    from pybo.extensions import db
    from pybo.models import now
    from pybo.rag_chat.models import PENDING, PROCESSING, Document

    lease = app.config["JOB_LEASE_SECONDS"]
    with app.app_context():
        rows = db.session.execute(
            select(Document.id, Document.status, Document.update_date).where(
                Document.status.in_((PENDING, PROCESSING))
            )
        ).all()
        moment = now()
        db.session.remove()
    plan = []
    for document_id, status, updated in rows:
        delay = 0.0
        if status == PROCESSING and updated is not None:
            delay = max(0.0, lease - (moment - updated).total_seconds()) + 1.0
        plan.append((document_id, delay))
    return plan


class InProcessRunner:
    name = "in-process"

    def __init__(self, app, workers=1):
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
        self._futures = set()
        self._attempts = {}
        self._lock = threading.Lock()

    def submit(self, document_id, delay=0.0):
        if delay > 0:
            timer = threading.Timer(delay, self.submit, args=(document_id,))
            timer.daemon = True
            timer.start()
            return None
        future = self.pool.submit(self._run, document_id)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._done)
        return future

    def _run(self, document_id):
        from pybo.rag_chat.ingest_job import Retry

        try:
            result = run_document_job(self.app, document_id)
        except Retry:
            attempt = self._attempts.get(document_id, 0) + 1
            self._attempts[document_id] = attempt
            if attempt > self.app.config["JOB_RETRIES"]:
                log.error("document %s: giving up after %d retries", document_id, attempt - 1)
                raise
            base = self.app.config["JOB_RETRY_SECONDS"]
            self.submit(document_id, delay=min(base * 2 ** (attempt - 1), 300))
            return None
        self._attempts.pop(document_id, None)
        return result

    def _done(self, future):
        with self._lock:
            self._futures.discard(future)
        exc = future.exception()
        if exc is not None:
            log.error("ingestion job failed: %r", exc)

    def recover(self):
        plan = unfinished(self.app)
        for document_id, delay in plan:
            self.submit(document_id, delay)
        if plan:
            log.info("recovering %d unfinished ingestion jobs", len(plan))
        return plan

    def wait(self, timeout=None):
        """Block until every submitted job has finished (tests and the CLI)."""
        with self._lock:
            pending = set(self._futures)
        wait_futures(pending, timeout=timeout)


class CeleryRunner:
    name = "celery"

    def __init__(self, app):
        self.app = app
        self.celery = celery_init_app(app)

    def submit(self, document_id, delay=0.0):
        task = self.celery.tasks[TASK_NAME]
        return task.apply_async(args=(document_id,), countdown=delay or None)

    def recover(self):
        plan = unfinished(self.app)
        for document_id, delay in plan:
            self.submit(document_id, delay)
        return plan

    def wait(self, timeout=None):
        """Workers run elsewhere: callers poll the document's state instead."""
        return None


def celery_init_app(app):
    """The Celery app for `app`'s config (one per Flask app), with the ingestion task."""
    if "celery" in app.extensions:
        return app.extensions["celery"]
    from celery import Celery, Task

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    config = app.config
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=config["CELERY_BROKER_URL"],
        result_backend=config["CELERY_RESULT_BACKEND"] or None,
        task_ignore_result=True,
        task_acks_late=True,  # a job whose worker dies is delivered again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": config["JOB_VISIBILITY_TIMEOUT"]},
    )
    from pybo.rag_chat.ingest_job import Retry

    @celery.task(
        name=TASK_NAME, bind=True, shared=False, autoretry_for=(Retry,),
        retry_backoff=max(1, int(config["JOB_RETRY_SECONDS"])),
        retry_backoff_max=300, retry_jitter=True, max_retries=config["JOB_RETRIES"],
    )  # fmt: skip
    def ingest_document(self, document_id):
        from pybo.extensions import db
        from pybo.rag_chat import ingest_job

        try:
            result = ingest_job.process(document_id)
            return None if result is None else result.chunks
        finally:
            db.session.remove()

    app.extensions["celery"] = celery
    return celery


def make_runner(app):
    runner = (
        CeleryRunner(app)
        if app.config["CELERY_BROKER_URL"]
        else InProcessRunner(app, workers=app.config["JOB_WORKERS"])
    )
    if not app.testing:
        try:
            runner.recover()
        except Exception:  # noqa: BLE001 - e.g. tables not migrated yet
            log.exception("could not recover unfinished jobs")
    return runner
