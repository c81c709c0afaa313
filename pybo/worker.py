"""Celery entry point: `celery -A pybo.worker worker` (see shell/worker.sh).

The worker builds the Flask app from the same environment as the web server, so both
read one config and know the same job kinds; when it is ready it re-queues work a
crash left unfinished.
"""

from celery.signals import worker_ready

from pybo import create_app
from pybo.jobs import TASK_PREFIX, celery_init_app, unfinished

flask_app = create_app()
celery_app = celery_init_app(flask_app)


@worker_ready.connect
def _recover(sender=None, **_):
    for kind, key, delay in unfinished(flask_app):
        celery_app.tasks[TASK_PREFIX + kind].apply_async(args=(key,), countdown=delay or None)
