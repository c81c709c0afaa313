"""A served LLM (LLM_BASE_URL): a real `transformers serve` on the tiny Gemma-3n.

The server runs as a subprocess on a free loopback port, loading the text-only folder
`flask models text-export` writes; the app reaches it through langchain-openai. No test
process loads the model itself (the in-process loader is patched to fail).
"""

import json
import os
import signal
import subprocess
import time

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from pybo.extensions import db
from pybo.knowledge import llm_server, providers
from pybo.knowledge import served as served_module
from pybo.knowledge.served import ServedChatModel, ServedSettings, estimate_tokens, make_chat_model
from pybo.rag_chat import chain, runtime
from pybo.rag_chat.generation import to_chat
from pybo.rag_chat.models import Message
from tests.fixtures.live import ROOT, LiveServer, free_port, process_env
from tests.fixtures.rag import login, make_rag_app, parse_sse, upload, wait_jobs
from tests.fixtures.tiny_models import CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tiny_models, tmp_path_factory):
    """{"url", "folder", "tokenizer"} of a running `transformers serve` (stopped after)."""
    from transformers import AutoTokenizer

    root = tmp_path_factory.mktemp("served")
    folder = llm_server.text_only_folder(tiny_models["llm"], root / "gemma-text")
    # No end-of-sequence token: every generation runs to max_tokens, so a stop is visible.
    (folder / "generation_config.json").unlink()
    (folder / "generation_config.json").write_text(json.dumps({"do_sample": False}))
    port = free_port()
    process = llm_server.start(folder, port, root / "server.log", env={"OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        if not llm_server.wait_until_healthy(url, process, timeout=300):
            pytest.fail("transformers serve did not start:\n" + (root / "server.log").read_text())
        yield {
            "url": url,
            "folder": str(folder),
            "tokenizer": AutoTokenizer.from_pretrained(folder),
            "pid": process.pid,
        }
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def loads(monkeypatch):
    """Calls of the in-process LLM loader (must stay empty with LLM_BASE_URL)."""
    calls = []

    def forbidden(location, device="cpu"):
        calls.append(location)
        raise AssertionError("the model must not be loaded in this process")

    monkeypatch.setattr(providers, "load_llm", forbidden)
    return calls


def served_app(tmp_path, tiny_models, url, **overrides):
    from pybo.auth import service
    from tests.fixtures.board import PASSWORD

    settings = {"LLM_BASE_URL": url, "LLM_MAX_NEW_TOKENS": 6, **overrides}
    app = make_rag_app(tmp_path, tiny_models, **settings)
    with app.app_context():
        service.signup("alice", "alice@example.com", PASSWORD)
    return app


@pytest.fixture
def app_on_server(tmp_path, tiny_models, served, loads, korean_pdf):
    """(app, client, conversation id): alice's PDF indexed, chat through the server."""
    app = served_app(tmp_path, tiny_models, served["url"], LLM_SERVED_MODEL=served["folder"])
    client = app.test_client()
    login(client)
    upload(client, korean_pdf, "은행.pdf")
    wait_jobs(app)
    conversation = int(client.post("/chat/new").headers["Location"].split("c=")[1])
    yield app, client, conversation
    runner = app.extensions["rag_chat"].get("runner")
    if runner is not None:
        runner.wait(timeout=60)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    assert loads == []


def ask(client, conversation_id, question):
    response = client.post(f"/chat/{conversation_id}/ask", json={"question": question})
    assert response.status_code == 200
    return parse_sse(response.get_data(as_text=True))


def test_answer_streams_from_the_server(app_on_server):
    app, client, conversation = app_on_server
    with app.app_context():
        llm = runtime.chat_model()
    assert isinstance(llm, ServedChatModel) and llm.tokenizer is not None  # LLM_MODEL's
    events = ask(client, conversation, "정기예금 금리는 얼마인가요?")
    names = [name for name, _ in events]
    assert names.index("sources") < names.index("token") < names.index("done")
    assert "error" not in names
    streamed = "".join(data["text"] for name, data in events if name == "token")
    with app.app_context():
        message = db.session.get(Message, events[-1][1]["message_id"])
        assert message.status == "complete" and message.content == streamed
    assert "llm" not in app.extensions["rag_chat"].get("providers")._cache


def test_follow_up_is_condensed_by_the_server(app_on_server, monkeypatch):
    app, client, conversation = app_on_server
    ask(client, conversation, "정기예금 금리는?")
    calls = []
    original = ServedChatModel._stream

    def recording(self, messages, *args, **kwargs):
        call = {"prompt": messages[-1].content, "tokens": []}
        calls.append(call)
        for chunk in original(self, messages, *args, **kwargs):
            call["tokens"].append(chunk.message.content)
            yield chunk

    monkeypatch.setattr(ServedChatModel, "_stream", recording)
    events = ask(client, conversation, "그럼 적금은요?")
    names = [name for name, _ in events]
    assert names[-1] == "done" and "condensed" in names
    assert len(calls) == 2 and "후속 질문: 그럼 적금은요?" in calls[0]["prompt"]
    condensed = dict(events)["condensed"]["question"]
    assert condensed == " ".join("".join(calls[0]["tokens"]).split())[:500] or "그럼 적금은요?"
    streamed = [data["text"] for name, data in events if name == "token"]
    assert "".join(streamed) == "".join(calls[1]["tokens"])  # condense tokens never leak


def time_tokens(url, model, count):
    """Seconds the server takes for `count` tokens, and its finish reason."""
    import httpx

    body = {"model": model, "messages": [{"role": "user", "content": "은행"}],
            "max_tokens": count, "temperature": 0}  # fmt: skip
    started = time.monotonic()
    reply = httpx.post(url + "/chat/completions", json=body, timeout=600).json()
    return time.monotonic() - started, reply["choices"][0]["finish_reason"]


@pytest.mark.parametrize("how", ["disconnect", "stop button"])
def test_stopping_an_answer_stops_generation_on_the_server(app_on_server, served, how):
    app, client, conversation = app_on_server
    per_token, finish = time_tokens(served["url"], served["folder"], 20)
    assert finish == "length"  # no EOS: a generation runs to its limit unless stopped
    per_token /= 20
    limit = 3000
    app.config["LLM_MAX_NEW_TOKENS"] = limit
    with app.app_context():
        runtime.chat_model().max_new_tokens = limit
    response = client.post(f"/chat/{conversation}/ask", json={"question": "금리는?"},
                           buffered=False)  # fmt: skip
    chunks, seen = iter(response.response), ""
    while seen.count("event: token") < 2:
        seen += next(chunks).decode()
    if how == "disconnect":
        response.close()  # the browser went away
    else:
        assert client.post(f"/chat/{conversation}/stop", json={}).get_json() == {"stopped": True}
        events = parse_sse(seen + b"".join(chunks).decode())
        assert events[-1][0] == "done" and events[-1][1]["status"] == "stopped"
    # The server runs one generation at a time: a 1-token request finishes only after
    # the abandoned one stopped. Had it not, it would wait ~(limit - 2) tokens.
    started = time.monotonic()
    _, finish = time_tokens(served["url"], served["folder"], 1)
    waited = time.monotonic() - started
    assert finish == "length" and waited < per_token * (limit - 2) / 4, (waited, per_token)
    with app.app_context():
        answer = db.session.scalars(db.select(Message).where(Message.role == "assistant")).one()
        assert answer.status == "stopped" and answer.content


def test_dead_server_gives_a_korean_error_and_status(tmp_path, tiny_models, loads):
    app = served_app(tmp_path, tiny_models, f"http://127.0.0.1:{free_port()}/v1")
    client = app.test_client()
    login(client)
    page = client.get("/chat/").get_data(as_text=True)
    assert "언어 모델 서버에 연결할 수 없습니다" in page  # the model-status check
    assert app.config["LLM_BASE_URL"] not in page  # no internal address for users
    conversation = int(client.post("/chat/new").headers["Location"].split("c=")[1])
    event, data = ask(client, conversation, "금리는?")[-1]
    assert event == "error"
    assert data["message"].startswith("언어 모델을 사용할 수 없습니다: 언어 모델 서버에 연결")
    assert "Connection" not in data["message"] and "127.0.0.1" not in data["message"]
    result = app.test_cli_runner().invoke(args=["rag", "status"])
    assert "언어 모델: 없음 (언어 모델 서버에 연결할 수 없습니다" in result.output
    assert loads == []
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# Token budgets, against the server's own counts.


def model_on(served, tokenizer, max_new_tokens=4):
    settings = ServedSettings(served["url"], served["folder"])
    return make_chat_model(settings, tokenizer, max_new_tokens=max_new_tokens)


def usage(llm, messages, **kwargs):
    """(text, usage_metadata) of one streamed call."""
    text, meta = "", None
    for chunk in llm.stream(messages, **kwargs):
        text += chunk.content
        meta = chunk.usage_metadata or meta
    return text, meta


def test_prompt_tokens_match_the_server_and_max_tokens_holds(served):
    tokenizer = served["tokenizer"]
    llm = model_on(served, tokenizer, max_new_tokens=3)
    messages = [SystemMessage(chain.ANSWER_SYSTEM.format(context=CORPUS[0])),
                HumanMessage(CORPUS[2])]  # fmt: skip
    _, meta = usage(llm, messages)
    template = tokenizer.apply_chat_template(
        to_chat(messages), add_generation_prompt=True, return_dict=True
    )["input_ids"]
    assert meta["input_tokens"] == len(template)  # the app counts what the server counts
    assert meta["output_tokens"] == 3  # LLM_MAX_NEW_TOKENS reaches the server
    assert llm.count_tokens(CORPUS[2]) == len(tokenizer.encode(CORPUS[2], add_special_tokens=False))


def test_estimate_without_tokenizer_never_undercounts(served):
    """No tokenizer: the estimate stays above the server's count, so budgets hold."""
    llm = model_on(served, None, max_new_tokens=1)
    empty = usage(llm, [HumanMessage("")])[1]["input_tokens"]
    for text in (CORPUS[0], CORPUS[4], CORPUS[6], " ".join(CORPUS[:8])):
        served_count = usage(llm, [HumanMessage(text)])[1]["input_tokens"] - empty
        assert estimate_tokens(text) >= served_count, text
        assert llm.count_tokens(text) == estimate_tokens(text)


def test_context_budget_is_kept_in_server_tokens(served):
    """format_context under a 120-token budget sends at most ~120 tokens of passages."""
    from pybo.knowledge.hybrid import Hit

    llm = model_on(served, served["tokenizer"], max_new_tokens=1)
    hits = [Hit(space="u1", key=f"d:{i}", text=text, title="문서.pdf", page=i, chunk=0)
            for i, text in enumerate(CORPUS[:8], start=1)]  # fmt: skip
    context = chain.format_context(hits, llm.count_tokens, 120)
    assert 1 < context.count("[") < 8  # some passages, not all
    bare = usage(llm, [HumanMessage("")])[1]["input_tokens"]
    sent = usage(llm, [HumanMessage(context)])[1]["input_tokens"] - bare
    assert sent <= 120 + 4  # the joins between passages are not counted per passage


def test_a_server_that_never_answers_times_out_in_korean(tmp_path, tiny_models, loads):
    """A listener that accepts and stays silent (a hung server): LLM_REQUEST_TIMEOUT."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        app = served_app(tmp_path, tiny_models, url, LLM_REQUEST_TIMEOUT=1)
        client = app.test_client()
        login(client)
        assert served_module.SERVER_SLOW in client.get("/chat/").get_data(as_text=True)
        conversation = int(client.post("/chat/new").headers["Location"].split("c=")[1])
        event, data = ask(client, conversation, "금리는?")[-1]
    assert event == "error"
    assert data["message"] == "언어 모델을 사용할 수 없습니다: " + served_module.SERVER_SLOW
    assert loads == []
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_server_killed_mid_answer_gives_a_korean_error(served):
    """A real server killed while it streams: the chain gets ModelUnavailable."""
    import tempfile

    from pybo.knowledge.providers import ModelUnavailable

    port = free_port()
    log_path = tempfile.mktemp(prefix="pybo-served-", suffix=".log")
    process = llm_server.start(served["folder"], port, log_path, env={"OMP_NUM_THREADS": "1"})
    try:
        url = f"http://127.0.0.1:{port}/v1"
        assert llm_server.wait_until_healthy(url, process, timeout=300)
        llm = make_chat_model(ServedSettings(url, served["folder"]), None, max_new_tokens=3000)
        stream = llm.stream([HumanMessage("은행")])
        next(stream)  # the server is generating
        os.killpg(process.pid, signal.SIGKILL)
        with pytest.raises(ModelUnavailable) as caught:
            for _ in stream:
                pass
        assert caught.value.reason == served_module.SERVER_DOWN
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def mapped(pid, path):
    """Whether process `pid` has the file `path` mapped (a loaded safetensors model)."""
    real = os.path.realpath(path)
    with open(f"/proc/{pid}/maps") as maps:
        return any(line.rstrip().endswith(real) for line in maps)


def wait_listening(port, process, log_path, timeout=120):
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(log_path.read_text())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)  # polling the socket's state, with a deadline
    pytest.fail("gunicorn did not listen")


def test_gunicorn_workers_never_load_the_model(tmp_path, tiny_models, served):
    """2 gunicorn workers answer 4 chats at once; neither maps the weights, the server does."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    from benchmarks.load import chat_stream

    weights = os.path.join(tiny_models["llm"], "model.safetensors")
    assert mapped(served["pid"], weights)  # the check sees a loaded model
    app = served_app(tmp_path, tiny_models, served["url"])
    with app.app_context():
        from pybo.auth import service
        from tests.fixtures.board import PASSWORD

        for name in ("bob", "carol", "dave"):
            service.signup(name, f"{name}@example.com", PASSWORD)
    env = process_env(app.config, PYBO_CONFIG="production", SECRET_KEY="served-secret",
                      SESSION_COOKIE_SECURE="0", LLM_BASE_URL=served["url"],
                      LLM_SERVED_MODEL=served["folder"], LLM_MAX_NEW_TOKENS="4")  # fmt: skip
    port, log_path = free_port(), tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--timeout", "0", "pybo:create_app()"],
        cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        live = LiveServer(f"http://127.0.0.1:{port}", app, log_path)
        wait_listening(port, process, log_path)
        sessions = [live.session(name) for name in ("alice", "bob", "carol", "dave")]

        def chat(session):
            return chat_stream(session, live.url, live.csrf(session, "/chat/"), "금리는?")

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(chat, sessions))
        assert all(r["ok"] and r["tokens"] > 0 for r in results), results
        workers = psutil.Process(process.pid).children()
        assert len(workers) == 2
        assert not any(mapped(worker.pid, weights) for worker in workers)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_board_ai_answer_is_written_by_the_server(tmp_path, tiny_models, served, loads):
    """The board's assistant (a background job) drafts through the served LLM too."""
    import io

    from pybo.auth import service
    from pybo.models import Answer
    from tests.fixtures.board import PASSWORD
    from tests.fixtures.pdfs import pdf_bytes
    from tests.test_assistant import LIBRARY, _ask_question

    app = served_app(tmp_path, tiny_models, served["url"], LLM_SERVED_MODEL=served["folder"])
    with app.app_context():
        service.signup("root", "root@example.com", PASSWORD, is_admin=True)
    root, alice = app.test_client(), app.test_client()
    login(root, "root")
    login(alice, "alice")
    library = {"file": (io.BytesIO(pdf_bytes([LIBRARY])), "도서관.pdf"), "shared": "1"}
    root.post("/chat/documents/upload", content_type="multipart/form-data", data=library)
    wait_jobs(app)
    question_id = _ask_question(alice, "도서관 운영 시간", "도서관은 평일 몇 시에 여나요?", ai=True)
    wait_jobs(app)
    with app.app_context():
        answer = db.session.scalar(db.select(Answer).where(Answer.question_id == question_id))
        assert answer is not None and answer.user.is_bot and answer.content.strip()
        assert answer.sources and answer.sources[0]["title"] == "도서관.pdf"
        db.session.remove()
        db.engine.dispose()
    assert loads == []
