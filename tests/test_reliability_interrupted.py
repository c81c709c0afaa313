"""A server killed mid-answer: the partial answer is kept and marked interrupted at the
next start, instead of looking as if it were still being written (issue 9)."""

import os
import signal
import threading
import time

import pytest
from sqlalchemy import select

from pybo import create_app
from pybo.auth import service
from pybo.extensions import db
from pybo.rag_chat import liveness
from pybo.rag_chat.models import Message
from tests.conftest import build_app, make_test_config
from tests.fixtures.board import PASSWORD
from tests.fixtures.live import serve
from tests.fixtures.rag import login
from tests.fixtures.tiny_models import endless_copy

pytestmark = pytest.mark.slow


def _streaming_answer(app, deadline):
    """The `streaming` answer row once it holds text (polled; the server writes it)."""
    while time.monotonic() < deadline:
        with app.app_context():
            message = db.session.scalar(select(Message).where(Message.role == "assistant"))
            if message is not None and message.content:
                assert message.status == liveness.STREAMING
                return message.id, message.content, message.owner
            db.session.remove()
        time.sleep(0.1)
    raise AssertionError("no streaming answer was written")


def _drain(stream):
    try:
        for _ in stream.iter_content(chunk_size=4096):
            pass
    except Exception:  # noqa: BLE001 - the server is killed mid-stream on purpose
        pass


def test_sigkill_mid_answer_leaves_an_interrupted_answer(tmp_path, tiny_models):
    llm = endless_copy(tiny_models["llm"], tmp_path / "endless-gemma")
    app = build_app(tmp_path, EMBEDDING_MODEL=tiny_models["embedding"], LLM_MODEL=str(llm))
    with app.app_context():
        service.signup("alice", "alice@example.com", PASSWORD)
    with serve(app, tmp_path, LLM_MAX_NEW_TOKENS=3000) as server:
        session = server.session("alice")
        token = server.csrf(session, "/chat/")
        created = session.post(server.url + "/chat/new", data={"csrf_token": token},
                               allow_redirects=False)  # fmt: skip
        conversation = int(created.headers["Location"].split("c=")[1])
        with session.post(
            f"{server.url}/chat/{conversation}/ask", json={"question": "금리는?"},
            headers={"X-CSRFToken": token}, stream=True, timeout=600,
        ) as stream:  # fmt: skip
            for line in stream.iter_lines(decode_unicode=True):
                assert not line.startswith("event: done"), "the answer ended before the kill"
                if line.startswith("event: token"):
                    break
            # Keep reading, as a browser does: an unread stream fills the socket buffers and
            # on a loaded machine the server's blocked write ended the answer as `stopped`.
            threading.Thread(target=_drain, args=(stream,), daemon=True).start()
            message_id, partial, owner = _streaming_answer(app, time.monotonic() + 300)
            os.killpg(server.process.pid, signal.SIGKILL)  # no cleanup runs in the server
            server.process.wait(60)
    assert owner.split(":")[1] != str(os.getpid())  # written by the server's worker
    deadline = time.monotonic() + 120
    while liveness.owner_alive(owner):  # the worker dies a moment after its master
        assert time.monotonic() < deadline, "the killed worker is still alive"
        time.sleep(0.1)
    with app.app_context():
        assert db.session.get(Message, message_id).status == liveness.STREAMING
    settings = {"EMBEDDING_MODEL": tiny_models["embedding"], "LLM_MODEL": str(llm)}
    restarted = create_app(make_test_config(tmp_path, **settings)).test_client()
    login(restarted)  # the first request of the new process checks for dead writers
    page = restarted.get(f"/chat/?c={conversation}").get_data(as_text=True)
    with app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status == liveness.INTERRUPTED
        assert message.content.startswith(partial)  # the partial text is kept
    assert "챗봇 (중단됨)" in page


def test_a_live_writer_is_left_alone(rag_app):
    with rag_app.app_context():
        assert liveness.owner_alive(liveness.process_owner())
        assert not liveness.owner_alive("elsewhere-but-garbage")
        host = liveness.process_owner().split(":")[0]
        assert not liveness.owner_alive(f"{host}:{2**22 + 7}:123")  # no such pid
        start = liveness.process_owner().split(":")[2]
        assert not liveness.owner_alive(f"{host}:{os.getpid()}:{start}0")  # pid reused
        assert liveness.owner_alive("another-host:1:1")  # can't tell: keep it
