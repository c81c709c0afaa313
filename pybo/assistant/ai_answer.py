"""AI 답변: an answer drafted by the local model, posted by the built-in AI 도우미.

When a question asks for one (or `BOARD_AI_ANSWERS=auto`), a background job retrieves
from the shared library and the board — never from anyone's private documents — and,
if something relevant was found, answers with numbered citations through the chat's
chain and model; the answer is an ordinary answer (voted, accepted, hidden by the
question's author) carrying its sources. If nothing relevant was found it posts
nothing: `Question.ai_status` says so. Jobs claim the question like ingestion jobs
claim a document, retry transient failures and are recovered after a crash.
"""

import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from pybo.assistant.board_index import SPACE, plain_text, source_of
from pybo.extensions import db
from pybo.incidents import report
from pybo.jobs import JobKind, Retry
from pybo.knowledge.hybrid import Scope
from pybo.knowledge.providers import ModelUnavailable
from pybo.models import Answer, Question, User, now
from pybo.rag_chat import access, chain, citations, runtime

log = logging.getLogger(__name__)
KIND = "ai_answer"
BOT_NAME = "AI 도우미"
MODES = ("off", "opt-in", "auto")
QUEUED, RUNNING, DONE, NONE, FAILED = "queued", "running", "done", "none", "failed"
WORKING = (QUEUED, RUNNING)
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
STATUS_TEXT = {
    QUEUED: "AI 답변 작성 중…",
    RUNNING: "AI 답변 작성 중…",
    NONE: "공개 자료와 게시판에서 관련 내용을 찾지 못해 AI 답변을 달지 않았습니다.",
    FAILED: "AI 답변을 만들지 못했습니다.",
}


def mode(app=None):
    """`BOARD_AI_ANSWERS`: off | opt-in | auto; unset means opt-in when the models are
    there (or a served model is configured), else off."""
    app = app or current_app
    value = (app.config.get("BOARD_AI_ANSWERS") or "").strip().lower()
    if value in MODES:
        return value
    status = runtime.providers(app).status()
    llm_ready = status["llm"] is None or bool(app.config.get("LLM_BASE_URL"))
    return "opt-in" if status["embedding"] is None and llm_ready else "off"


def normalized_name(name):
    return "".join((name or "").split()).lower()


def is_reserved_name(name):
    """Nobody may sign up as the AI 도우미."""
    return normalized_name(name) == normalized_name(BOT_NAME)


def bot_user():
    """The built-in account that posts AI answers; it has no usable password and the
    login refuses bots, so nobody can log in as it."""
    user = db.session.scalar(select(User).where(User.is_bot.is_(True)))
    if user is None:
        user = User(username=BOT_NAME, email="ai-helper@localhost", is_bot=True)
        user.set_password(secrets.token_urlsafe(32))  # never told to anyone
        db.session.add(user)
        db.session.commit()
    return user


def request_answer(question):
    """Ask for an AI answer to `question` (after its own commit: posting never waits)."""
    question.ai_status, question.ai_updated = QUEUED, now()
    db.session.commit()
    try:
        runtime.runner().submit(KIND, question.id)
    except Exception:  # noqa: BLE001 - the status stays queued; a runner start recovers it
        log.exception("could not queue the AI answer of question %s", question.id)


def claim(question_id):
    """True when this job may work on the question (queued, or running but silent for
    longer than the lease: its worker died)."""
    stale = now() - timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    result = db.session.execute(
        update(Question)
        .where(
            Question.id == question_id,
            or_(Question.ai_status == QUEUED,
                (Question.ai_status == RUNNING) & (Question.ai_updated < stale)),
        )
        .values(ai_status=RUNNING, ai_updated=now())
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    db.session.commit()
    return result.rowcount == 1


def _finish(question_id, status):
    db.session.execute(
        update(Question)
        .where(Question.id == question_id)
        .values(ai_status=status, ai_updated=now())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def query_text(question):
    return f"{question.subject}\n{plain_text(question.content)}"


def relevant_hits(question):
    """Passages from the shared library and the board (not the question itself) whose
    relevance clears the threshold, best first."""
    config = current_app.config
    scopes = [Scope(access.SHARED), Scope(SPACE)]
    hits = runtime.retriever().search(query_text(question), scopes, k=config["RAG_TOP_K"] + 2)
    own = source_of(question.id)
    floor = config["AI_ANSWER_MIN_RELEVANCE"]
    return [
        hit for hit in hits
        if not (hit.space == SPACE and hit.key.startswith(own + ":")) and hit.relevance >= floor
    ][: config["RAG_TOP_K"]]  # fmt: skip


def draft(question, hits):
    """The model's answer text for `question` from `hits` (through the generation gate)."""
    config = current_app.config
    llm = runtime.chat_model()
    context = chain.format_context(hits, llm.count_tokens, config["RAG_CONTEXT_TOKENS"])
    gate = runtime.gate()
    gate.enter()
    try:
        text = chain.answer_chain(llm).invoke(
            {"context": context, "history": [], "question": query_text(question)}
        )
    finally:
        gate.leave()
    return text.strip()


def post(question, text, hits):
    sources = citations.with_links([hit.as_source() for hit in hits])
    answer = Answer(question=question, content=text, user=bot_user(), create_date=now(),
                    sources=sources)  # fmt: skip
    from pybo.answer import service

    return service.add(answer)


def process(question_id):
    """The job. Returns the new answer's id, or None."""
    if not claim(question_id):
        return None
    try:
        question = db.session.get(Question, question_id)
        if question is None:
            return None
        hits = relevant_hits(question)
        if not hits:
            _finish(question_id, NONE)
            return None
        text = draft(question, hits)
        if not text:
            _finish(question_id, NONE)
            return None
        answer = post(question, text, hits)
        _finish(question_id, DONE)
        return answer.id
    except TRANSIENT as exc:
        db.session.rollback()
        _finish(question_id, QUEUED)  # released: the retry claims it at once
        raise Retry(str(exc)) from exc
    except ModelUnavailable as exc:
        db.session.rollback()
        log.warning("AI answer for question %s: model unavailable: %s", question_id, exc.reason)
        _finish(question_id, FAILED)
    except Exception as exc:  # noqa: BLE001 - recorded on the question, logged in full
        db.session.rollback()
        report("AI 답변을 만들지 못했습니다", exc, log, question=question_id)
        _finish(question_id, FAILED)
    return None


def set_hidden(answer, hidden):
    """Hide or show an AI answer (the board index drops hidden answers)."""
    answer.hidden = hidden
    db.session.commit()


def regenerate(question):
    """Remove the question's AI answers and queue a new one (`flask board ai-answer`)."""
    from pybo.answer import service

    bot = bot_user()
    for answer in db.session.scalars(
        select(Answer).where(Answer.question_id == question.id, Answer.user_id == bot.id)
    ):
        service.delete(answer)
    question.ai_status, question.ai_updated = QUEUED, now()
    db.session.commit()


def pending(app):
    """Questions whose AI answer a previous process left queued or running."""
    lease = app.config["JOB_LEASE_SECONDS"]
    with app.app_context():
        rows = db.session.execute(
            select(Question.id, Question.ai_status, Question.ai_updated).where(
                Question.ai_status.in_(WORKING)
            )
        ).all()
        moment = now()
        db.session.remove()
    plan = []
    for question_id, status, updated in rows:
        delay = 0.0
        if status == RUNNING and updated is not None:
            delay = max(0.0, lease - (moment - updated).total_seconds()) + 1.0
        plan.append((question_id, delay))
    return plan


def register(app):
    from pybo import jobs

    jobs.register(app, JobKind(KIND, process, pending))
