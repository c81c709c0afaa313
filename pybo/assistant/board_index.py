"""The board as a knowledge source: each question with its answers, in the `board` space.

A question is one source (`q{id}`) whose "pages" are its parts: the question itself,
then its answers, the accepted one first, then by votes (an AI answer only once a
person accepted it, and never a hidden one). Citations point at the answer.

It stays in step through a queue table: any change to a question or answer (create,
modify, delete, accept, vote) adds the question to `board_index_queue` in the same
transaction, and after the commit a job (`index_question`, in-process or Celery)
rewrites its chunks, embedding only text it has not seen. A crash loses nothing: the
queue is read again when a runner starts. `flask board reindex` rebuilds the space,
streaming the questions in batches.
"""

import logging
import threading
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import delete, event, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from pybo.assistant.models import BoardIndexQueue
from pybo.common.markdown import plain_text
from pybo.extensions import db
from pybo.jobs import JobKind, Retry
from pybo.knowledge.chunking import split_pages
from pybo.knowledge.hybrid import Target
from pybo.knowledge.pdf import Page
from pybo.knowledge.providers import ModelUnavailable
from pybo.models import Answer, Question, now
from pybo.question.search import touched_questions
from pybo.rag_chat import access, runtime

log = logging.getLogger(__name__)
KIND = "index_question"
SPACE = access.BOARD
MARKED = "board_index_marked"  # session.info key: questions to queue after the commit


def source_of(question_id):
    return f"q{int(question_id)}"


def is_accepted(answer):
    return bool(getattr(answer, "accepted", False))


def answers_of(question_ids):
    """{question_id: [answers]} with their authors, in one query."""
    found = {}
    query = (
        select(Answer)
        .options(selectinload(Answer.user))
        .where(Answer.question_id.in_(question_ids))
    )
    for answer in db.session.scalars(query):
        found.setdefault(answer.question_id, []).append(answer)
    return found


def indexed_answers(answers):
    """The answers that count as knowledge, in the order they are indexed."""
    answers = [
        answer
        for answer in answers
        if not answer.hidden and (not answer.user.is_bot or is_accepted(answer))
    ]
    return sorted(answers, key=lambda a: (not is_accepted(a), -a.vote_count, a.id))


def pages_of(question, answers):
    pages = [Page(1, f"{question.subject}\n{plain_text(question.content)}")]
    for answer in indexed_answers(answers):
        pages.append(Page(len(pages) + 1, plain_text(answer.content), anchor=answer.id))
    return pages


def chunks_of(question, answers, tokenizer, max_seq_length, overlap):
    pages = pages_of(question, answers)
    return split_pages(pages, tokenizer, max_seq_length, overlap, min_chars=1)


def target_of(question):
    return Target(SPACE, source_of(question.id), question.subject, question_id=question.id)


# ---- keeping it in step -------------------------------------------------------------


def request(question_ids, session=None):
    """Queue questions for (re)indexing in the current transaction; the job is submitted
    after the commit. Safe inside a flush (it writes through the session's connection)."""
    ids = {int(i) for i in question_ids if i is not None}
    if not ids:
        return
    session = session or db.session
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        module = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
        moment = now()
        statement = module.insert(BoardIndexQueue).values(
            [{"question_id": i, "requested_at": moment} for i in sorted(ids)]
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["question_id"], set_={"requested_at": moment}
            )
        )
    session.info.setdefault(MARKED, set()).update(ids)


@event.listens_for(Session, "after_flush")
def _mark_touched(session, _context):
    request(touched_questions(session), session)


@event.listens_for(Session, "after_commit")
def _submit_marked(session):
    ids = session.info.pop(MARKED, None)
    if ids and has_app_context():
        submit(current_app._get_current_object(), ids)


@event.listens_for(Session, "after_rollback")
def _forget_marked(session):
    session.info.pop(MARKED, None)


def submit(app, question_ids):
    """Queue the jobs; a failure here (a broker down) must never fail the request: the
    queue rows stay and are picked up when a runner starts or by `flask board reindex`."""
    if runtime.providers(app).status()["embedding"] is not None:
        return  # no embedder yet: the queue waits for the models
    try:
        runner = runtime.runner(app)
        for question_id in sorted(question_ids):
            runner.submit(KIND, question_id)
    except Exception:  # noqa: BLE001 - logged; the queue table keeps the work
        log.exception("could not queue board index jobs for %s", sorted(question_ids))


def process(question_id):
    """The job: make the question's chunks match its current state (or remove them)."""
    stamp = db.session.scalar(
        select(BoardIndexQueue.requested_at).where(BoardIndexQueue.question_id == question_id)
    )
    try:
        index_question(question_id)
    except ModelUnavailable:
        log.info("board index: no embedder, question %s stays queued", question_id)
        return None
    except (IntegrityError, OperationalError) as exc:  # a concurrent job, a busy database
        db.session.rollback()
        raise Retry(str(exc)) from exc
    _done(question_id, stamp)
    return None


def _done(question_id, stamp):
    """Dequeue unless the question changed again while it was being indexed."""
    query = delete(BoardIndexQueue).where(BoardIndexQueue.question_id == question_id)
    if stamp is not None:
        query = query.where(BoardIndexQueue.requested_at == stamp)
    db.session.execute(query)
    db.session.commit()


def index_question(question_id):
    retriever = runtime.retriever()
    question = db.session.get(Question, question_id, populate_existing=True)
    if question is None:
        retriever.delete(SPACE, source_of(question_id))
        return 0
    tokenizer, max_seq = runtime.providers().embedding_tokenizer()
    overlap = current_app.config["RAG_CHUNK_OVERLAP_TOKENS"]
    answers = answers_of([question_id]).get(question_id, [])
    chunks = chunks_of(question, answers, tokenizer, max_seq, overlap)
    return retriever.replace(target_of(question), chunks)


def pending(app):
    """Queued questions a previous process left (for `jobs.recover`)."""
    with app.app_context():
        ids = list(db.session.scalars(select(BoardIndexQueue.question_id)))
        available = runtime.providers(app).status()["embedding"] is None
        db.session.remove()
    return [(question_id, 0.0) for question_id in ids] if available else []


def register(app):
    from pybo import jobs

    jobs.register(app, JobKind(KIND, process, pending))


def init_app(app):
    """A server process loads the board's lexical index in the background once it starts,
    so the first similar-questions request does not wait for it (~6 s per 100,000
    chunks)."""
    if app.testing:
        return
    started = []

    @app.before_request
    def _warm_board_index():
        if started:
            return
        started.append(True)
        threading.Thread(target=_warm, args=(app,), name="board-index-warm", daemon=True).start()


def _warm(app):
    with app.app_context():
        try:
            if runtime.providers().status()["embedding"] is None:
                runtime.retriever().space_index(SPACE)
        except Exception:  # noqa: BLE001 - a warm-up only: the first request builds it then
            log.exception("could not warm the board index")
        finally:
            db.session.remove()


# ---- full rebuild -------------------------------------------------------------------


def rebuild(batch_questions=200, progress=None):
    """Re-index every question, streaming: questions are read in id order, `batch_questions`
    at a time, embedded and written batch by batch (memory stays bounded). Returns the
    number of questions."""
    started = now()
    retriever = runtime.retriever()
    tokenizer, max_seq = runtime.providers().embedding_tokenizer()
    overlap = current_app.config["RAG_CHUNK_OVERLAP_TOKENS"]
    retriever.clear(SPACE)
    done, last = 0, 0
    while True:
        questions = list(
            db.session.scalars(
                select(Question)
                .where(Question.id > last)
                .order_by(Question.id)
                .limit(batch_questions)
            )
        )
        if not questions:
            break
        answers = answers_of([q.id for q in questions])
        items = [
            (target_of(q), chunks_of(q, answers.get(q.id, []), tokenizer, max_seq, overlap))
            for q in questions
        ]
        retriever.add_many(items)
        last = questions[-1].id
        done += len(questions)
        db.session.expunge_all()  # keep memory bounded
        if progress:
            progress(len(questions))
    _clear_queue_before(started)
    return done


def _clear_queue_before(moment: datetime):
    db.session.execute(delete(BoardIndexQueue).where(BoardIndexQueue.requested_at <= moment))
    db.session.commit()
