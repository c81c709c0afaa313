"""Celery entry point: `celery -A pybo.worker worker` (see shell/worker.sh).

The worker builds the Flask app from the same environment as the web server, so both
read one config; when it is ready it re-queues documents a crash left unfinished.
"""

from celery.signals import worker_ready

from pybo import create_app
from pybo.rag_chat.jobs import celery_init_app, unfinished

flask_app = create_app()
celery_app = celery_init_app(flask_app)


@worker_ready.connect
def _recover(sender=None, **_):
    for document_id, delay in unfinished(flask_app):
        celery_app.tasks["pybo.ingest_document"].apply_async(
            args=(document_id,), countdown=delay or None
        )
