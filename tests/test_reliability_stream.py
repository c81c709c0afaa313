"""Every answer stream ends with `done` or `error`, however the model behaves (issue 9)."""

import threading

from pybo.extensions import db
from pybo.rag_chat import chain, runtime
from pybo.rag_chat.generation import LocalChatModel
from pybo.rag_chat.models import Message
from tests.fixtures.rag import login, parse_sse


def _conversation(client):
    login(client)
    return int(client.post("/chat/new").headers["Location"].split("c=")[1])


def test_a_stalled_answer_ends_with_an_error_and_is_cancelled(rag_app, rag_client, monkeypatch):
    """A generator that stops producing (a stuck model) ends the stream after the idle
    time with a Korean error, and is closed so generation stops."""
    rag_app.config["CHAT_STREAM_IDLE_SECONDS"] = 0.5
    release, closed = threading.Event(), threading.Event()

    def stalling(question, *args, **kwargs):
        try:
            yield "token", {"text": "부분 답변"}
            release.wait(120)  # stuck until the test lets go
            yield "token", {"text": "늦은 토큰"}
            yield "token", {"text": "더 늦은 토큰"}
        finally:
            closed.set()

    monkeypatch.setattr(chain, "ask", stalling)
    conversation_id = _conversation(rag_client)
    try:
        response = rag_client.post(f"/chat/{conversation_id}/ask", json={"question": "금리?"})
        events = parse_sse(response.get_data(as_text=True))
    finally:
        release.set()
    assert events[0][0] == "status"  # sent before the model is even loaded
    event, data = events[-1]
    assert event == "error" and "중단했습니다" in data["message"] and "참조 번호" in data["message"]
    assert "늦은 토큰" not in str(events)
    assert closed.wait(60), "the stalled generation was not cancelled"
    with rag_app.app_context():
        answer = db.session.scalars(db.select(Message).where(Message.role == "assistant")).one()
        assert (answer.status, answer.content) == ("error", "부분 답변")


def test_condense_runs_on_a_small_token_budget(rag_app, monkeypatch):
    budgets = []
    original = LocalChatModel._stream

    def recording(self, messages, *args, **kwargs):
        budgets.append(kwargs.get("max_new_tokens"))
        yield from original(self, messages, *args, **kwargs)

    monkeypatch.setattr(LocalChatModel, "_stream", recording)
    with rag_app.app_context():
        llm = runtime.chat_model()
    llm.max_new_tokens = 512
    history = chain.history_messages([("금리는?", "연 3.5%입니다.")], llm.count_tokens, 1024)
    chain.condense(llm, history, "적금은요?", max_tokens=rag_app.config["CHAT_CONDENSE_MAX_TOKENS"])
    assert budgets == [64]
