"""Chat actions over HTTP: the first question creates the conversation, regenerate,
edit, retry after a failure, stop (partial text kept), ownership and CSRF."""

import re
import threading
import time

import pytest

from pybo.extensions import db
from pybo.rag_chat import runtime
from pybo.rag_chat.generation import LocalChatModel
from pybo.rag_chat.models import Conversation, Message
from tests.conftest import build_app
from tests.fixtures.board import PASSWORD
from tests.fixtures.rag import login, parse_sse, upload, wait_jobs


@pytest.fixture
def indexed(rag_app, rag_client, korean_pdf):
    """alice logged in with her Korean PDF indexed, and no conversation yet."""
    login(rag_client)
    upload(rag_client, korean_pdf, "은행.pdf")
    wait_jobs(rag_app)
    return rag_client


def stream(client, url, **json):
    response = client.post(url, json=json)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    return parse_sse(response.get_data(as_text=True))


def first_conversation(client, question="정기예금 금리는 얼마인가요?"):
    events = stream(client, "/chat/ask", question=question)
    return events[0][1]["id"], events


def roles_and_texts(app, conversation_id):
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        return [(m.role, m.content, m.status) for m in conversation.messages]


def test_first_question_creates_the_conversation(rag_app, indexed):
    assert "새 대화" in indexed.get("/chat/").get_data(as_text=True)
    with rag_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Conversation.id))) == 0
    conversation_id, events = first_conversation(indexed, "정기예금   금리는\n얼마인가요?")
    names = [name for name, _ in events]
    assert names[0] == "conversation" and names[-1] == "done" and "error" not in names
    assert events[0][1] == {"id": conversation_id, "title": "정기예금 금리는 얼마인가요?"}
    assert names.index("sources") < names.index("token") < names.index("done")
    assert events[-1][1]["status"] == "complete" and events[-1][1]["html"]
    roles = [role for role, _, _ in roles_and_texts(rag_app, conversation_id)]
    assert roles == ["user", "assistant"]
    page = indexed.get("/chat/").get_data(as_text=True)
    assert f'href="/chat/?c={conversation_id}"' in page
    # a follow-up in the same conversation does not announce it again
    names = [n for n, _ in stream(indexed, f"/chat/{conversation_id}/ask", question="적금은요?")]
    assert "conversation" not in names and names[-1] == "done"


def test_new_chat_is_a_link_and_refused_questions_create_nothing(rag_app, indexed):
    page = indexed.get("/chat/").get_data(as_text=True)
    assert re.search(r'<a [^>]*href="/chat/"[^>]*>\s*새 대화', page)
    assert 'action="/chat/new"' not in page
    for question in ("", "  ", "가" * 2001):
        response = indexed.post("/chat/ask", json={"question": question})
        assert response.status_code == 400 and response.get_json()["error"]
    with rag_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Conversation.id))) == 0


def test_first_question_takes_the_scope(rag_app, indexed):
    events = stream(indexed, "/chat/ask", question="금리?", kinds=["board"])
    with rag_app.app_context():
        conversation = db.session.get(Conversation, events[0][1]["id"])
        assert conversation.use_board and not conversation.use_private
    assert dict(events)["sources"]["sources"] == []  # the PDF is not searched


def test_plain_form_post_without_script_renders_the_answer_page(rag_app, indexed):
    response = indexed.post("/chat/ask", data={"question": "정기예금 금리는?"})
    assert response.status_code == 302
    conversation_id = int(response.headers["Location"].split("c=")[1])
    rows = roles_and_texts(rag_app, conversation_id)
    assert [r[0] for r in rows] == ["user", "assistant"] and rows[1][2] == "complete"
    page = indexed.get(response.headers["Location"]).get_data(as_text=True)
    assert "정기예금 금리는?" in page and "챗봇" in page
    response = indexed.post(f"/chat/{conversation_id}/ask", data={"question": ""})
    assert response.status_code == 302
    assert "질문을 입력해 주세요." in indexed.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_regenerate_replaces_the_last_answer(rag_app, indexed):
    conversation_id, events = first_conversation(indexed)
    old_id = events[-1][1]["message_id"]
    events = stream(indexed, f"/chat/{conversation_id}/regenerate")
    names = [name for name, _ in events]
    assert names[-1] == "done" and "conversation" not in names
    new_id = events[-1][1]["message_id"]
    assert new_id != old_id
    rows = roles_and_texts(rag_app, conversation_id)
    assert [r[0] for r in rows] == ["user", "assistant"]
    assert rows[0][1] == "정기예금 금리는 얼마인가요?"
    with rag_app.app_context():
        assert db.session.get(Message, old_id) is None


def test_edit_replaces_the_last_question_and_its_answer(rag_app, indexed):
    conversation_id, _ = first_conversation(indexed)
    stream(indexed, f"/chat/{conversation_id}/ask", question="두 번째 질문")
    events = stream(indexed, f"/chat/{conversation_id}/edit", question="고친 두 번째 질문")
    assert events[-1][0] == "done"
    rows = roles_and_texts(rag_app, conversation_id)
    assert [(r[0], r[1]) for r in rows[::2]] == [
        ("user", "정기예금 금리는 얼마인가요?"),
        ("user", "고친 두 번째 질문"),
    ]
    assert [r[0] for r in rows] == ["user", "assistant", "user", "assistant"]
    response = indexed.post(f"/chat/{conversation_id}/edit", json={"question": " "})
    assert response.status_code == 400
    assert len(roles_and_texts(rag_app, conversation_id)) == 4


def test_retry_after_a_failed_answer_does_not_repeat_the_question(rag_app, indexed, monkeypatch):
    original = LocalChatModel._stream

    def broken(self, messages, *args, **kwargs):
        raise RuntimeError("simulated failure")
        yield  # pragma: no cover

    monkeypatch.setattr(LocalChatModel, "_stream", broken)
    conversation_id, events = first_conversation(indexed)
    assert events[-1][0] == "error"
    assert [r[0] for r in roles_and_texts(rag_app, conversation_id)] == ["user"]
    page = indexed.get(f"/chat/?c={conversation_id}").get_data(as_text=True)
    assert "답변을 받지 못했습니다" in page and "다시 시도" in page
    assert f'action="/chat/{conversation_id}/regenerate"' in page
    monkeypatch.setattr(LocalChatModel, "_stream", original)
    events = stream(indexed, f"/chat/{conversation_id}/regenerate")
    assert events[-1][0] == "done"
    rows = roles_and_texts(rag_app, conversation_id)
    assert [r[0] for r in rows] == ["user", "assistant"] and rows[1][2] == "complete"


def _endless(rag_app):
    """The tiny model never ends an answer on its own (no EOS, 400 tokens)."""
    rag_app.config["LLM_MAX_NEW_TOKENS"] = 400
    with rag_app.app_context():
        llm = runtime.chat_model()
    llm.max_new_tokens = 400
    llm.model.generation_config.eos_token_id = None
    return llm


def _generating():
    return any(t.name == "llm-generate" for t in threading.enumerate())


def test_stop_ends_generation_and_keeps_the_partial_text(rag_app, indexed):
    conversation_id, _ = first_conversation(indexed)
    llm = _endless(rag_app)
    response = indexed.post(
        f"/chat/{conversation_id}/ask", json={"question": "금리는?"}, buffered=False
    )
    chunks = iter(response.response)
    seen = ""
    while "event: token" not in seen:
        seen += next(chunks).decode()
    stopped = indexed.post(f"/chat/{conversation_id}/stop", json={})
    assert stopped.get_json() == {"stopped": True}
    seen += "".join(chunk.decode() for chunk in chunks)  # the stream ends by itself
    response.close()
    events = parse_sse(seen)
    assert events[-1][0] == "done" and events[-1][1]["status"] == "stopped"
    deadline = time.monotonic() + 120  # a state polled; generous on a loaded machine
    while _generating() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _generating()
    streamed = "".join(d["text"] for n, d in events if n == "token")
    with rag_app.app_context():
        answer = db.session.get(Message, events[-1][1]["message_id"])
        assert answer.status == "stopped" and answer.content == streamed and streamed
    assert len(llm.tokenizer.encode(streamed, add_special_tokens=False)) < 400
    page = indexed.get(f"/chat/?c={conversation_id}").get_data(as_text=True)
    assert "(중단됨)" in page
    # nothing runs now: stop says so
    assert indexed.post(f"/chat/{conversation_id}/stop", json={}).get_json() == {"stopped": False}


def test_cancel_stops_the_model_within_a_step(rag_app, indexed):
    """The flag reaches the generation loop itself, not only the token consumer."""
    llm = _endless(rag_app)
    cancel = threading.Event()
    steps = []
    original = llm.model.forward

    def counting(*args, **kwargs):
        steps.append(1)
        if len(steps) == 5:
            cancel.set()
        return original(*args, **kwargs)

    llm.model.forward = counting
    try:
        chunks = list(llm.bind(cancel=cancel).stream("금리는?"))
    finally:
        llm.model.forward = original
    assert len(steps) <= 6 and len(chunks) < 10


@pytest.mark.parametrize("action", ["regenerate", "edit", "stop", "ask"])
def test_other_users_conversation_is_404(rag_app, indexed, action):
    conversation_id, _ = first_conversation(indexed)
    other = rag_app.test_client()
    login(other, "bob")
    response = other.post(f"/chat/{conversation_id}/{action}", json={"question": "x"})
    assert response.status_code == 404
    assert len(roles_and_texts(rag_app, conversation_id)) == 2


@pytest.fixture
def csrf_client(tmp_path):
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        from pybo.auth import service

        service.signup("alice", "alice@example.com", PASSWORD)
    client = app.test_client()
    page = client.get("/auth/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    assert client.post("/auth/login/", data=data).status_code == 302
    return client


@pytest.mark.parametrize(
    "path", ["/chat/ask", "/chat/1/regenerate", "/chat/1/edit", "/chat/1/stop"]
)
def test_actions_need_the_csrf_token(csrf_client, path):
    response = csrf_client.post(path, json={"question": "금리?"})
    assert response.status_code == 400


def test_chat_pages_have_no_inline_scripts_styles_or_handlers(rag_app, indexed):
    conversation_id, _ = first_conversation(indexed)
    for path in ("/chat/", f"/chat/?c={conversation_id}", "/chat/documents/"):
        page = indexed.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"\sstyle=", page), path
        assert not re.search(r"\son[a-z]+=", page), path
