"""Conversation rules and the streamed ask flow (server-sent events)."""

import json
import logging
import time

from sqlalchemy import select

from pybo.common.markdown import render
from pybo.extensions import db
from pybo.incidents import report
from pybo.knowledge.providers import ModelUnavailable
from pybo.models import now
from pybo.rag_chat import access, chain, citations, liveness, runtime, watchdog
from pybo.rag_chat.models import Conversation, Document, Message
from pybo.rag_chat.running import running

log = logging.getLogger(__name__)
MAX_QUESTION = 2000
MAX_TITLE = 100
FLUSH_SECONDS = 1.0  # how often a growing answer is saved
IDLE_MESSAGE = "답변이 너무 오래 멈춰 있어 중단했습니다. 잠시 후 다시 질문해 주세요"


class AskError(ValueError):
    """The question was refused before streaming; the message is for the user."""


def for_user(user):
    return list(
        db.session.scalars(
            select(Conversation)
            .where(Conversation.user_id == user.id)
            .order_by(Conversation.update_date.desc(), Conversation.id.desc())
        )
    )


def create(user, document_ids=None, kinds=None):
    conversation = Conversation(user_id=user.id, title="새 대화")
    set_scope(conversation, user, document_ids, kinds, commit=False)
    db.session.add(conversation)
    db.session.commit()
    return conversation


SCOPE_KINDS = ("private", "shared", "board")


def set_scope(conversation, user, document_ids, kinds=None, commit=True):
    """What the conversation searches: the chosen documents the user may read (own or
    shared), else the kinds switched on (`kinds` ⊆ SCOPE_KINDS; None keeps the
    defaults); the board can be added either way."""
    ids = access.readable_ready_ids(user, document_ids or [])
    conversation.all_documents = not ids
    conversation.documents = (
        list(db.session.scalars(select(Document).where(Document.id.in_(ids)))) if ids else []
    )
    if kinds is not None:
        kinds = set(kinds)
        conversation.use_private = "private" in kinds
        conversation.use_shared = "shared" in kinds
        conversation.use_board = "board" in kinds
    if commit:
        db.session.commit()


def rename(conversation, title):
    title = " ".join((title or "").split())[:MAX_TITLE]
    if not title:
        raise AskError("제목을 입력해 주세요.")
    conversation.title = title
    db.session.commit()


def delete(conversation):
    db.session.delete(conversation)
    db.session.commit()


def turns(conversation, before=None):
    """Earlier complete (question, answer) pairs, oldest first; only messages older
    than message id `before` when it is given."""
    pairs, pending = [], None
    for message in conversation.messages:
        if before is not None and message.id >= before:
            break
        if message.role == "user":
            pending = message.content
        elif pending is not None and message.status == "complete":
            pairs.append((pending, message.content))
            pending = None
    return pairs


def set_feedback(message, value):
    message.feedback = {"up": 1, "down": -1}.get(value)
    db.session.commit()


def sse(event, data):
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def clean_question(question):
    """The question stripped, or AskError with the reason in Korean."""
    question = (question or "").strip()
    if not question:
        raise AskError("질문을 입력해 주세요.")
    if len(question) > MAX_QUESTION:
        raise AskError(f"질문은 {MAX_QUESTION:,}자 이하로 입력해 주세요.")
    return question


def title_for(question):
    return " ".join(question.split())[:40] or "새 대화"


def _job(conversation, question_message, created=False):
    """What the stream needs, captured while the request's session is open."""
    return {
        "conversation_id": conversation.id,
        "title": conversation.title,
        "created": created,
        "owner_id": conversation.user_id,
        "question": question_message.content,
        "turns": turns(conversation, before=question_message.id),
        "scopes": access.scopes_for(conversation.user, conversation),
    }


def start(user, question, document_ids=None, kinds=None):
    """A conversation is created by its first question (no empty conversations)."""
    question = clean_question(question)
    conversation = Conversation(user_id=user.id, title=title_for(question))
    set_scope(conversation, user, document_ids, kinds, commit=False)
    db.session.add(conversation)
    message = Message(conversation=conversation, role="user", content=question)
    db.session.add(message)
    db.session.commit()
    return _job(conversation, message, created=True)


def prepare(conversation, question):
    """Validate, save the user's question, and capture what the stream needs."""
    question = clean_question(question)
    message = Message(conversation=conversation, role="user", content=question)
    db.session.add(message)
    if conversation.title == "새 대화":
        conversation.title = title_for(question)
    conversation.update_date = now()
    db.session.commit()
    return _job(conversation, message)


def last_question(conversation):
    """The newest user message, or AskError when there is none."""
    for message in reversed(conversation.messages):
        if message.role == "user":
            return message
    raise AskError("다시 보낼 질문이 없습니다.")


def _drop_after(conversation, message):
    """Remove what followed `message` (its old answer): a new answer replaces it."""
    for later in [m for m in conversation.messages if m.id > message.id]:
        conversation.messages.remove(later)


def regenerate(conversation):
    """Answer the last question again, replacing its answer (also the retry after a
    failed answer, which left the question without one)."""
    message = last_question(conversation)
    _drop_after(conversation, message)
    conversation.update_date = now()
    db.session.commit()
    return _job(conversation, message)


def edit(conversation, question):
    """Replace the last question's text and answer it again."""
    question = clean_question(question)
    message = last_question(conversation)
    message.content = question
    _drop_after(conversation, message)
    conversation.update_date = now()
    db.session.commit()
    return _job(conversation, message)


def _save_answer(job, state, status=None):
    """Write the answer row: created at the first token as `streaming` (owned by this
    process) and rewritten as it grows, so a server killed mid-answer leaves its text
    behind (`liveness`); written a last time with the final status (`status` None)."""
    message = db.session.get(Message, state["message_id"]) if state.get("message_id") else None
    if message is None:
        message = Message(
            conversation_id=job["conversation_id"],
            role="assistant",
            owner=liveness.process_owner(),
        )
        db.session.add(message)
    message.content = "".join(state["text"])
    message.sources = state["sources"]
    message.status = status or state["status"]
    message.condensed_question = state["condensed"]
    db.session.commit()
    state["message_id"] = message.id
    state["saved"] = status is None
    return message.id


def _save_partial(job, state, context):
    """At most once per FLUSH_SECONDS, save the text so far as a `streaming` answer."""
    if time.monotonic() < state.get("flush_at", 0.0):
        return
    with context:
        _save_answer(job, state, liveness.STREAMING)
    state["flush_at"] = time.monotonic() + FLUSH_SECONDS


def _save_last(app, job, state):
    """The partial answer's final write; a failure here is logged, never raised, so the
    stream still ends with its `done` or `error` event."""
    try:
        with app.app_context():
            _save_answer(job, state)
    except Exception as exc:  # noqa: BLE001 - logged with a reference
        report("답변을 저장하지 못했습니다", exc, log, conversation=job["conversation_id"])


def _wait_turn(gate, cancel):
    """Block until a generation slot is free; False when the user stopped meanwhile."""
    while not gate.enter(timeout=0.5):
        if cancel.is_set():
            return False
    return True


def _answer(job, llm, store, config, cancel, state, context):
    """The chain's events as SSE, collecting the answer into `state`. The chain runs
    under the idle watchdog (in a worker thread entering `context`)."""

    def retrieve(query):
        return store.search(query, job["scopes"], k=config["RAG_TOP_K"])

    events = chain.ask(
        job["question"],
        job["turns"],
        retrieve,
        llm,
        history_tokens=config["RAG_HISTORY_TOKENS"],
        context_tokens=config["RAG_CONTEXT_TOKENS"],
        cancel=cancel,
        condense_tokens=config["CHAT_CONDENSE_MAX_TOKENS"],
    )
    events = watchdog.guarded(events, config["CHAT_STREAM_IDLE_SECONDS"], cancel, context)
    try:
        for event, data in events:
            if event == "token":
                state["text"].append(data["text"])
                _save_partial(job, state, state["app"].app_context())
            elif event == "sources":
                state["sources"] = data["sources"] = citations.with_links(data["sources"])
            elif event == "condensed":
                state["condensed"] = data["question"]
            yield sse(event, data)
    finally:
        events.close()  # stops the model at its next step


def stream(app, job):
    """SSE generator for one answer. Every failure ends in an `error` event; the
    answer (possibly partial) is saved with its sources whenever anything was said.
    `running.cancel(conversation_id)` (the stop button) ends it within a model step
    with a `done` event whose status is `stopped`."""
    state = {"text": [], "sources": [], "condensed": None, "status": "error", "saved": False}
    state["app"] = app
    cancel = running.begin(job["conversation_id"])
    gate, entered, ended = None, False, False
    try:
        if job.get("created"):
            yield sse("conversation", {"id": job["conversation_id"], "title": job["title"]})
        # At once, before a model load: the client knows the server is working on it.
        yield sse("status", {"text": "답변을 준비하는 중…"})
        with app.app_context():
            llm = runtime.chat_model(app)
            store = runtime.retriever(app)
            gate = runtime.gate(app)
        entered = gate.try_enter()
        if not entered:
            yield sse("queued", {"text": "다른 답변을 생성하는 중입니다. 차례를 기다리는 중…"})
            entered = _wait_turn(gate, cancel)
        if entered:
            yield from _answer(job, llm, store, app.config, cancel, state, app.app_context())
        state["status"] = "stopped" if cancel.is_set() else "complete"
        message_id = None
        if state["text"] or state["status"] == "complete":
            with app.app_context():
                message_id = _save_answer(job, state)
        html = str(render("".join(state["text"])))
        ended = True
        yield sse("done", {"message_id": message_id, "html": html, "status": state["status"]})
    except GeneratorExit:
        state["status"] = "stopped"  # the client went away; `_answer` closed the chain
        raise
    except ModelUnavailable as exc:
        ended = True
        yield sse("error", {"message": f"언어 모델을 사용할 수 없습니다: {exc.reason}"})
    except watchdog.StreamIdle as exc:
        ended = True
        message = report(IDLE_MESSAGE, exc, log, conversation=job["conversation_id"])
        yield sse("error", {"message": message})
    except Exception as exc:  # noqa: BLE001 - reported to the client, logged in full
        ended = True
        message = report(
            "답변 생성 중 오류가 발생했습니다", exc, log, conversation=job["conversation_id"]
        )
        yield sse("error", {"message": message})
    finally:
        running.end(job["conversation_id"], cancel)
        if entered:
            gate.leave()
        if state["text"] and not state["saved"]:
            _save_last(app, job, state)
    if not ended:  # every stream ends with `done` or `error`
        yield sse("error", {"message": report("답변이 끝나지 않았습니다", None, log)})
