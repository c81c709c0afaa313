"""Background jobs: one interface, two backends, job kinds known by name.

Features register their kinds when the app is built (`register(app, JobKind(...))`);
this package never imports a feature. `runner(app).submit(kind, key, delay=0)` queues
one job:

- in-process (default): a thread pool inside the web process; nothing to install;
- Celery on Redis when `CELERY_BROKER_URL` is set: workers started from the same
  config (`celery -A pybo.worker worker`, `shell/worker.sh`), one task per kind.

Jobs are keyed (a document id, a question id) and must be idempotent: a job queued
twice, recovered after a crash, or retried must leave the same result. A handler runs
inside an app context and raises `Retry` for a transient failure (the runner retries
with backoff). `recover()` runs when a runner or worker starts and queues what each
kind's `pending(app)` reports as left unfinished by a previous process.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass

log = logging.getLogger(__name__)
TASK_PREFIX = "pybo."
MAX_BACKOFF = 300


class Retry(Exception):
    """A transient failure: the runner retries the job with backoff."""


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Callable  # handler(key) inside an app context
    pending: Callable | None = None  # pending(app) -> [(key, delay_seconds)]


def register(app, kind):
    app.extensions.setdefault("job_kinds", {})[kind.name] = kind


def kinds(app):
    return app.extensions.get("job_kinds", {})


def run_job(app, kind, key):
    """Run one job inside an app context (both backends)."""
    from pybo.extensions import db

    with app.app_context():
        try:
            return kinds(app)[kind].handler(key)
        finally:
            db.session.remove()


def unfinished(app):
    """[(kind, key, delay)] for every kind's work a previous process left unfinished."""
    plan = []
    for kind in kinds(app).values():
        if kind.pending is not None:
            plan += [(kind.name, key, delay) for key, delay in kind.pending(app)]
    return plan


def backoff(app, attempt):
    return min(app.config["JOB_RETRY_SECONDS"] * 2 ** (attempt - 1), MAX_BACKOFF)


class InProcessRunner:
    """A thread pool in this process. A job already queued and not yet started is not
    queued twice (bursts of edits to one question index it once)."""

    name = "in-process"

    def __init__(self, app, workers=1):
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._futures = set()
        self._queued = set()
        self._attempts = {}
        self._lock = threading.Lock()

    def submit(self, kind, key, delay=0.0):
        if delay > 0:
            timer = threading.Timer(delay, self.submit, args=(kind, key))
            timer.daemon = True
            timer.start()
            return None
        with self._lock:
            if (kind, key) in self._queued:
                return None
            self._queued.add((kind, key))
            future = self.pool.submit(self._run, kind, key)
            self._futures.add(future)
        future.add_done_callback(self._done)
        return future

    def _run(self, kind, key):
        with self._lock:
            self._queued.discard((kind, key))
        try:
            result = run_job(self.app, kind, key)
        except Retry:
            attempt = self._attempts.get((kind, key), 0) + 1
            self._attempts[(kind, key)] = attempt
            if attempt > self.app.config["JOB_RETRIES"]:
                log.error("%s %s: giving up after %d retries", kind, key, attempt - 1)
                raise
            self.submit(kind, key, delay=backoff(self.app, attempt))
            return None
        self._attempts.pop((kind, key), None)
        return result

    def _done(self, future):
        with self._lock:
            self._futures.discard(future)
        exc = future.exception()
        if exc is not None:
            log.error("background job failed: %r", exc)

    def recover(self):
        plan = unfinished(self.app)
        for kind, key, delay in plan:
            self.submit(kind, key, delay)
        if plan:
            log.info("recovering %d unfinished background jobs", len(plan))
        return plan

    def wait(self, timeout=None):
        """Block until every submitted job has finished (tests and the CLI), including
        jobs those jobs submitted."""
        while True:
            with self._lock:
                pending = {future for future in self._futures if not future.done()}
            if not pending:
                return
            done, not_done = wait_futures(pending, timeout=timeout)
            if not_done:
                return


class CeleryRunner:
    name = "celery"

    def __init__(self, app):
        self.app = app
        self.celery = celery_init_app(app)

    def submit(self, kind, key, delay=0.0):
        task = self.celery.tasks[TASK_PREFIX + kind]
        return task.apply_async(args=(key,), countdown=delay or None)

    def recover(self):
        plan = unfinished(self.app)
        for kind, key, delay in plan:
            self.submit(kind, key, delay)
        return plan

    def wait(self, timeout=None):
        """Workers run elsewhere: callers poll the state of what they queued instead."""
        return None


def celery_init_app(app):
    """The Celery app for `app`'s config (one per Flask app), with one task per kind."""
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
    for kind in kinds(app).values():
        _celery_task(celery, app, kind)
    app.extensions["celery"] = celery
    return celery


def _celery_task(celery, app, kind):
    config = app.config

    @celery.task(
        name=TASK_PREFIX + kind.name, bind=True, shared=False, autoretry_for=(Retry,),
        retry_backoff=max(1, int(config["JOB_RETRY_SECONDS"])),
        retry_backoff_max=MAX_BACKOFF, retry_jitter=True, max_retries=config["JOB_RETRIES"],
    )  # fmt: skip
    def task(self, key):
        from pybo.extensions import db

        try:
            kind.handler(key)
        finally:
            db.session.remove()

    return task


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
