"""The ingestion job for one document, safe to run twice, late, or after a crash.

A job first takes the document's lease: `pending -> processing` with a fresh token, or a
`processing` document whose holder has not written for JOB_LEASE_SECONDS (a crashed
worker or a restarted server). Every progress write is conditional on the token and
doubles as the heartbeat; a job whose document was deleted, re-queued or taken over
sees its write match no row and stops (`Cancelled`). Transient database or network
failures release the lease and raise `Retry` for the runner's backoff.
"""

import logging
import time
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from pybo import jobs
from pybo.extensions import db
from pybo.incidents import report
from pybo.jobs import JobKind, Retry
from pybo.knowledge.pdf import IngestError
from pybo.knowledge.providers import ModelUnavailable
from pybo.models import now
from pybo.rag_chat import access, runtime
from pybo.rag_chat.documents import blob_path, remove_chunks
from pybo.rag_chat.models import FAILED, PENDING, PROCESSING, READY, Document

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


KIND = "ingest_document"


class Cancelled(Exception):
    """The job lost its document: deleted, re-queued, or its lease taken over."""


def claim(document_id):
    """The lease token, or None when the document is gone, done, or held by a live job."""
    token = str(uuid.uuid4())
    stale = now() - timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    takeable = or_(
        Document.status == PENDING,
        (Document.status == PROCESSING) & (Document.update_date < stale),
    )
    result = db.session.execute(
        update(Document)
        .where(Document.id == document_id, takeable)
        .values(status=PROCESSING, attempts=Document.attempts + 1, error=None,
                job_token=token, update_date=now())
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    db.session.commit()
    return token if result.rowcount == 1 else None


def write(document_id, token, **values):
    """Update the row while this job holds the lease; the write is the heartbeat."""
    result = db.session.execute(
        update(Document)
        .where(Document.id == document_id, Document.job_token == token)
        .values(update_date=now(), **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount == 0:
        raise Cancelled(document_id)


class Progress:
    """Writes progress at most every `interval` seconds (and at each phase change)."""

    def __init__(self, document_id, token, interval=0.5):
        self.document_id = document_id
        self.token = token
        self.interval = interval
        self.values = {}
        self.last = 0.0

    def __call__(self, **values):
        self.values.update(values)
        moment = time.monotonic()
        total = self.values.get("chunks_total")
        final = bool(total) and values.get("chunks_done") == total
        if moment - self.last >= self.interval or final or "chunks_total" in values:
            write(self.document_id, self.token, **self.values)
            self.last = moment


def ready_values(result):
    notes = []
    if result.garbage_pages:
        shown = ", ".join(str(n) for n in result.garbage_pages[:10])
        count = len(result.garbage_pages)
        notes.append(f"글자가 깨진 {count}개 페이지는 제외했습니다 (p. {shown}).")
    if result.ocr_pages:
        shown = ", ".join(str(n) for n in result.ocr_pages[:10])
        notes.append(f"{len(result.ocr_pages)}개 페이지는 OCR로 읽었습니다 (p. {shown}).")
    warning = " ".join(notes) or None
    return {
        "status": READY, "warning": warning, "job_token": None,
        "pages_done": result.pages, "pages_total": result.pages,
        "chunks_done": result.chunks, "chunks_total": result.chunks,
    }  # fmt: skip


def _fail(document_id, token, message):
    try:
        write(document_id, token, status=FAILED, error=message, job_token=None)
    except Cancelled:
        log.info("document %s changed hands before its failure was recorded", document_id)


def write_failure(document_id, message, token=None):
    """Record a failure: under the lease `token`, or (no job holds it yet) a pending row."""
    held = Document.job_token == token if token else Document.status == PENDING
    db.session.execute(
        update(Document)
        .where(Document.id == document_id, held)
        .values(status=FAILED, error=message, job_token=None, update_date=now())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _release(document_id, token):
    """Give the lease back (pending again) so the retry can claim it at once."""
    try:
        write(document_id, token, status=PENDING, job_token=None)
    except (Cancelled, *TRANSIENT):
        db.session.rollback()  # the lease expires by itself


def model_message(exc):
    return (
        f"임베딩 모델이 없습니다 ({exc.reason}). "
        f"관리자가 `{exc.hint}` 를 실행한 뒤 다시 색인하세요."
    )


def process(document_id):
    """Index one document (runs in an app context). Returns the IngestResult or None."""
    from pybo.knowledge.ingest import ingest_pdf

    token = claim(document_id)
    if token is None:
        return None
    document = db.session.get(Document, document_id)
    target, config = access.target_of(document), current_app.config
    try:
        tokenizer, max_seq = runtime.providers().embedding_tokenizer()
        result = ingest_pdf(
            blob_path(document.sha256), target=target, store=runtime.retriever(),
            tokenizer=tokenizer,
            max_seq_length=max_seq, max_pages=config["MAX_PDF_PAGES"],
            overlap=config["RAG_CHUNK_OVERLAP_TOKENS"], batch_size=config["INGEST_BATCH_SIZE"],
            progress=Progress(document_id, token), ocr=runtime.ocr(),
        )  # fmt: skip
        write(document_id, token, **ready_values(result))
        return result
    except Cancelled:
        _cleanup_if_deleted(document_id, target)
        return None
    except TRANSIENT as exc:
        db.session.rollback()
        log.warning("transient failure on document %s, retrying: %s", document_id, exc)
        _release(document_id, token)
        raise Retry(str(exc)) from exc
    except IngestError as exc:
        _fail(document_id, token, str(exc))
    except ModelUnavailable as exc:
        _fail(document_id, token, model_message(exc))
    except Exception as exc:
        if _cleanup_if_deleted(document_id, target):
            return None  # e.g. a foreign-key error because the document was deleted
        _fail(
            document_id,
            token,
            report("처리 중 오류가 발생했습니다", exc, log, document=document_id),
        )
        raise
    return None


def _cleanup_if_deleted(document_id, target):
    """True (after removing its chunks) when the document was deleted under the job."""
    db.session.rollback()
    if db.session.get(Document, document_id, populate_existing=True) is not None:
        return False
    remove_chunks(target.space, target.source)  # nothing of a deleted document may stay
    return True


def unfinished(app):
    """[(document_id, delay_seconds)] for documents a previous process left unfinished:
    pending ones at once, processing ones when their lease has run out."""
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


def register(app):
    jobs.register(app, JobKind(KIND, process, unfinished))
