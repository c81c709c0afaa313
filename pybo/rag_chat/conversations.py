"""Conversation rules and the streamed ask flow (server-sent events)."""

import json
import logging

from sqlalchemy import select

from pybo.common.markdown import render
from pybo.extensions import db
from pybo.incidents import report
from pybo.knowledge.providers import ModelUnavailable
from pybo.models import now
from pybo.rag_chat import access, chain, citations, runtime
from pybo.rag_chat.models import Conversation, Document, Message

log = logging.getLogger(__name__)
MAX_QUESTION = 2000
MAX_TITLE = 100


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


def turns(conversation):
    """Earlier complete (question, answer) pairs, oldest first."""
    pairs, pending = [], None
    for message in conversation.messages:
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


def prepare(conversation, question):
    """Validate, save the user's question, and capture what the stream needs."""
    question = (question or "").strip()
    if not question:
        raise AskError("질문을 입력해 주세요.")
    if len(question) > MAX_QUESTION:
        raise AskError(f"질문은 {MAX_QUESTION:,}자 이하로 입력해 주세요.")
    history = turns(conversation)
    db.session.add(Message(conversation=conversation, role="user", content=question))
    if conversation.title == "새 대화":
        conversation.title = question[:40]
    conversation.update_date = now()
    db.session.commit()
    return {
        "conversation_id": conversation.id,
        "owner_id": conversation.user_id,
        "question": question,
        "turns": history,
        "scopes": access.scopes_for(conversation.user, conversation),
    }


def _save_answer(job, text, sources, status, condensed):
    message = Message(
        conversation_id=job["conversation_id"],
        role="assistant",
        content=text,
        sources=sources,
        status=status,
        condensed_question=condensed,
    )
    db.session.add(message)
    db.session.commit()
    return message.id


def stream(app, job):
    """SSE generator for one answer. Every failure ends in an `error` event; the
    answer (possibly partial) is saved with its sources whenever anything was said."""
    config = app.config
    text, sources, condensed, status = [], [], None, "error"
    entered = False
    try:
        with app.app_context():
            llm = runtime.chat_model(app)
            store = runtime.retriever(app)
            gate = runtime.gate(app)
        entered = gate.try_enter()
        if not entered:
            yield sse("queued", {"text": "다른 답변을 생성하는 중입니다. 차례를 기다리는 중…"})
            gate.enter()
            entered = True

        def retrieve(query):
            return store.search(query, job["scopes"], k=config["RAG_TOP_K"])

        events = chain.ask(
            job["question"],
            job["turns"],
            retrieve,
            llm,
            history_tokens=config["RAG_HISTORY_TOKENS"],
            context_tokens=config["RAG_CONTEXT_TOKENS"],
        )
        try:
            for event, data in events:
                if event == "token":
                    text.append(data["text"])
                elif event == "sources":
                    sources = data["sources"] = citations.with_links(data["sources"])
                elif event == "condensed":
                    condensed = data["question"]
                yield sse(event, data)
        finally:
            events.close()
        status = "complete"
        with app.app_context():
            message_id = _save_answer(job, "".join(text), sources, status, condensed)
        yield sse("done", {"message_id": message_id, "html": str(render("".join(text)))})
    except GeneratorExit:
        status = "stopped"  # the client went away; generation stops with `events.close()`
        raise
    except ModelUnavailable as exc:
        yield sse("error", {"message": f"언어 모델을 사용할 수 없습니다: {exc.reason}"})
    except Exception as exc:  # noqa: BLE001 - reported to the client, logged in full
        message = report(
            "답변 생성 중 오류가 발생했습니다", exc, log, conversation=job["conversation_id"]
        )
        yield sse("error", {"message": message})
    finally:
        if entered:
            gate.leave()
        if status != "complete" and text:
            with app.app_context():
                _save_answer(job, "".join(text), sources, status, condensed)
