"""The chat: conversations, the SSE stream, follow-ups, persistence, concurrency."""

import re
import threading
import time

import pytest

from pybo import create_app
from pybo.extensions import db
from pybo.rag_chat import runtime
from pybo.rag_chat.generation import LocalChatModel
from pybo.rag_chat.models import Conversation, Document, Message
from tests.conftest import make_test_config
from tests.fixtures.rag import login, make_rag_app, parse_sse, upload, wait_jobs


@pytest.fixture
def ready(rag_app, rag_client, korean_pdf):
    """alice logged in, her Korean PDF indexed, one conversation; returns its id."""
    login(rag_client)
    upload(rag_client, korean_pdf, "은행.pdf")
    wait_jobs(rag_app)
    response = rag_client.post("/chat/new")
    return int(response.headers["Location"].split("c=")[1])


def ask(client, conversation_id, question):
    response = client.post(f"/chat/{conversation_id}/ask", json={"question": question})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    return parse_sse(response.get_data(as_text=True))


def test_event_sequence_and_saved_answer(rag_app, rag_client, ready):
    events = ask(rag_client, ready, "정기예금 금리는 얼마인가요?")
    names = [name for name, _ in events]
    assert names[0] == "status" and "condensed" not in names  # first turn: no condense
    assert names.index("sources") < names.index("token") < names.index("done")
    assert names[-1] == "done" and "error" not in names
    sources = dict(events)["sources"]["sources"]
    assert sources and all(s["title"] == "은행.pdf" and s["page"] in (1, 2, 3) for s in sources)
    assert all(s["url"] == f"/chat/documents/{s['document_id']}/file#page={s['page']}"
               for s in sources)  # fmt: skip
    streamed = "".join(data["text"] for name, data in events if name == "token")
    done = events[-1][1]
    with rag_app.app_context():
        message = db.session.get(Message, done["message_id"])
        assert message.role == "assistant" and message.status == "complete"
        assert message.content == streamed and message.sources == sources
    page = rag_client.get(f"/chat/?c={ready}").get_data(as_text=True)
    assert "정기예금 금리는 얼마인가요?" in page
    assert f"/chat/documents/{sources[0]['document_id']}/file#page={sources[0]['page']}" in page


def test_follow_up_is_condensed_and_condense_is_not_streamed(
    rag_app, rag_client, ready, monkeypatch
):
    calls = []
    original = LocalChatModel._stream

    def recording(self, messages, *args, **kwargs):
        call = {"prompt": messages[-1].content, "tokens": []}
        calls.append(call)
        for chunk in original(self, messages, *args, **kwargs):
            call["tokens"].append(chunk.message.content)
            yield chunk

    ask(rag_client, ready, "정기예금 금리는?")
    monkeypatch.setattr(LocalChatModel, "_stream", recording)
    events = ask(rag_client, ready, "그럼 적금은요?")
    names = [name for name, _ in events]
    assert names[-1] == "done" and "condensed" in names
    assert len(calls) == 2 and "후속 질문: 그럼 적금은요?" in calls[0]["prompt"]
    condensed = dict(events)["condensed"]["question"]
    expected = " ".join("".join(calls[0]["tokens"]).split())[:500] or "그럼 적금은요?"
    assert condensed == expected
    streamed = [data["text"] for name, data in events if name == "token"]
    assert "".join(streamed) == "".join(calls[1]["tokens"])  # only the answer call streamed
    with rag_app.app_context():
        message = db.session.get(Message, events[-1][1]["message_id"])
        assert message.condensed_question == condensed


def test_error_event_when_the_model_breaks(rag_app, rag_client, ready, monkeypatch, caplog):
    def broken(self, messages, *args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated) at /srv/venv/lib/torch")
        yield  # pragma: no cover

    monkeypatch.setattr(LocalChatModel, "_stream", broken)
    events = ask(rag_client, ready, "금리는?")
    event, data = events[-1]
    assert event == "error" and data["message"].startswith("답변 생성 중 오류가 발생했습니다")
    assert "CUDA" not in data["message"] and "/srv" not in data["message"]  # details: the log
    reference = re.search(r"참조 번호 ([0-9a-f]{8})", data["message"]).group(1)
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and "CUDA out of memory" in str(logged[0].exc_info[1])
    with rag_app.app_context():
        conversation = db.session.get(Conversation, ready)
        assert [m.role for m in conversation.messages] == ["user"]  # the question is kept


def test_generation_error_inside_model_thread(rag_app, rag_client, ready):
    with rag_app.app_context():
        model = runtime.chat_model().model
    original = model.forward

    def exploding(*args, **kwargs):
        raise RuntimeError("model crashed mid-generation")

    model.forward = exploding
    try:
        events = ask(rag_client, ready, "금리는?")
    finally:
        model.forward = original
    event, data = events[-1]
    assert event == "error" and "참조 번호" in data["message"]
    assert "model crashed" not in data["message"]


def test_client_disconnect_stops_generation(rag_app, rag_client, ready):
    rag_app.config["LLM_MAX_NEW_TOKENS"] = 400
    with rag_app.app_context():
        llm = runtime.chat_model()
        llm.max_new_tokens = 400
        llm.model.generation_config.eos_token_id = None  # never stop early on its own
    response = rag_client.post(f"/chat/{ready}/ask", json={"question": "금리는?"}, buffered=False)
    chunks = iter(response.response)
    seen = ""
    while "event: token" not in seen:
        seen += next(chunks).decode()
    response.close()  # the browser went away
    deadline = time.monotonic() + 120  # a state polled; generous on a loaded machine

    def generating():
        return any(t.name == "llm-generate" for t in threading.enumerate())

    while generating() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not generating()
    with rag_app.app_context():
        answer = db.session.scalars(db.select(Message).where(Message.role == "assistant")).one()
        assert answer.status == "stopped" and answer.content
        assert len(llm.tokenizer.encode(answer.content, add_special_tokens=False)) < 400


def test_two_streams_at_once_do_not_mix(rag_app, korean_pdf):
    rag_app.config["LLM_MAX_CONCURRENT"] = 2
    clients, conversations = {}, {}
    for name in ("alice", "bob"):
        client = rag_app.test_client()
        login(client, name)
        upload(client, korean_pdf)
        clients[name] = client
    wait_jobs(rag_app)
    for name, client in clients.items():
        conversations[name] = int(client.post("/chat/new").headers["Location"].split("c=")[1])
    results = {}

    def run(name, question):
        results[name] = ask(clients[name], conversations[name], question)

    threads = [
        threading.Thread(target=run, args=("alice", "은행 금리?")),
        threading.Thread(target=run, args=("bob", "플라스크 라우팅?")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with rag_app.app_context():
        for name, events in results.items():
            assert events[-1][0] == "done", events[-1]
            streamed = "".join(d["text"] for n, d in events if n == "token")
            message = db.session.get(Message, events[-1][1]["message_id"])
            assert message.conversation_id == conversations[name]
            assert message.content == streamed
            owner = message.conversation.user_id
            sources = dict(events)["sources"]["sources"]
            assert {db.session.get(Document, s["document_id"]).user_id for s in sources} == {owner}


def test_waiting_user_sees_queued(rag_app, rag_client, ready):
    with rag_app.app_context():
        gate = runtime.gate()
    assert gate.slots == 1  # default on CPU
    assert gate.try_enter()  # someone else is generating
    response = rag_client.post(f"/chat/{ready}/ask", json={"question": "금리?"}, buffered=False)
    chunks, body = iter(response.response), ""
    while "event: queued" not in body:  # the stream waits for the slot: no clock involved
        body += next(chunks).decode()
    gate.leave()
    body += "".join(chunk.decode() for chunk in chunks)
    names = [name for name, _ in parse_sse(body)]
    assert names[:2] == ["status", "queued"] and names[-1] == "done"


def test_history_survives_a_new_app_instance(tmp_path, tiny_models, rag_app, rag_client, ready):
    ask(rag_client, ready, "정기예금 금리는?")
    config = make_test_config(
        tmp_path, EMBEDDING_MODEL=tiny_models["embedding"], LLM_MODEL=tiny_models["llm"]
    )
    client = create_app(config).test_client()  # a restarted server on the same database
    login(client)
    page = client.get(f"/chat/?c={ready}").get_data(as_text=True)
    assert "정기예금 금리는?" in page and "챗봇" in page


def test_conversation_crud_and_privacy(rag_app, rag_client, ready):
    assert rag_client.post(f"/chat/{ready}/rename", data={"title": "예금 상담"}).status_code == 302
    assert "예금 상담" in rag_client.get("/chat/").get_data(as_text=True)
    other = rag_app.test_client()
    login(other, "bob")
    assert other.get(f"/chat/?c={ready}").status_code == 404
    assert other.post(f"/chat/{ready}/ask", json={"question": "x"}).status_code == 404
    assert other.post(f"/chat/{ready}/delete").status_code == 404
    assert rag_client.post(f"/chat/{ready}/delete").status_code == 302
    with rag_app.app_context():
        assert db.session.get(Conversation, ready) is None


def test_bad_questions_are_refused_before_streaming(rag_client, ready):
    for question in ("", "   ", "가" * 2001):
        response = rag_client.post(f"/chat/{ready}/ask", json={"question": question})
        assert response.status_code == 400 and response.get_json()["error"]


def test_scope_limits_retrieval_to_chosen_documents(rag_app, rag_client, ready):
    from tests.fixtures.pdfs import pdf_bytes

    upload(
        rag_client,
        pdf_bytes(["두 번째 문서: 우주선 설계도와 엔진 출력 계산표가 들어 있습니다."]),
        "우주.pdf",
    )
    wait_jobs(rag_app)
    docs = rag_client.get("/chat/documents/status").get_json()["documents"]
    space = next(d["id"] for d in docs if d["filename"] == "우주.pdf")
    rag_client.post(f"/chat/{ready}/scope", data={"document_ids": [space, 999999]})
    events = ask(rag_client, ready, "은행 금리?")
    assert {s["document_id"] for s in dict(events)["sources"]["sources"]} == {space}


def test_feedback_is_stored(rag_app, rag_client, ready):
    done = ask(rag_client, ready, "금리?")[-1][1]
    url = f"/chat/message/{done['message_id']}/feedback"
    assert rag_client.post(url, json={"value": "up"}).get_json() == {"feedback": 1}
    assert rag_client.post(url, json={"value": "down"}).get_json() == {"feedback": -1}
    with rag_app.app_context():
        assert db.session.get(Message, done["message_id"]).feedback == -1
    other = rag_app.test_client()
    login(other, "bob")
    assert other.post(url, json={"value": "up"}).status_code == 404


def test_model_missing_page_keeps_the_site_up(tmp_path, tiny_models):
    app = make_rag_app(tmp_path, tiny_models, LLM_MODEL=str(tmp_path / "nowhere" / "gemma"))
    client = app.test_client()
    with app.app_context():
        from pybo.auth import service

        service.signup("alice", "alice@example.com", "password123")
    login(client)
    page = client.get("/chat/").get_data(as_text=True)
    assert "모델이 준비되지 않았습니다" in page and "flask models download" in page
    assert "nowhere" not in page and "언어 모델" in page  # no server path
    assert client.get("/question/list/").status_code == 200
    conversation = int(client.post("/chat/new").headers["Location"].split("c=")[1])
    events = parse_sse(
        client.post(f"/chat/{conversation}/ask", json={"question": "금리?"}).get_data(as_text=True)
    )
    assert [name for name, _ in events] == ["status", "error"]
    assert events[-1][1] == {"message": "언어 모델을 사용할 수 없습니다: 폴더가 없습니다"}
