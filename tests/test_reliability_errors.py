"""Broken model files: users read a short Korean message (and a reference), never an
exception or a server path; nothing is accepted that could only fail (issue 9)."""

import re
import shutil

from pybo.extensions import db
from pybo.knowledge import model_files
from pybo.rag_chat import runtime
from pybo.rag_chat.models import Document
from tests.fixtures.rag import login, make_rag_app, parse_sse, upload

LEAKS = ("Error while deserializing", "Traceback", "safetensors_rust", "size mismatch")


def _app(tmp_path, tiny_models, **models):
    app = make_rag_app(tmp_path, tiny_models, **models)
    with app.app_context():
        from pybo.auth import service

        service.signup("alice", "alice@example.com", "password123")
    return app


def _broken_copy(source, target):
    """A copy whose weights file is garbage, as after an interrupted download."""
    shutil.copytree(source, target)
    for weights in target.glob("*.safetensors"):
        weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    return target


def _mismatched_copy(source, target):
    """Readable headers, wrong tensor shapes: passes the cheap check, fails to load."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(source, target)
    (weights,) = target.glob("*.safetensors")
    tensors = load_file(str(weights))
    key = next(k for k in tensors if k.endswith("embed_tokens.weight"))
    tensors[key] = tensors[key][:, :8].contiguous()
    save_file(tensors, str(weights), metadata={"format": "pt"})
    return target


def _assert_clean(text, tmp_path):
    assert str(tmp_path) not in text and "/tmp" not in text
    for leak in LEAKS:
        assert leak not in text


def _ask(client):
    return parse_sse(client.post("/chat/ask", json={"question": "금리는?"}).get_data(as_text=True))


def test_broken_weights_disable_the_chat_without_leaking(tmp_path, tiny_models):
    llm = _broken_copy(tiny_models["llm"], tmp_path / "broken-gemma")
    app = _app(tmp_path, tiny_models, LLM_MODEL=str(llm))
    client = app.test_client()
    login(client)
    page = client.get("/chat/").get_data(as_text=True)
    assert model_files.BROKEN in page
    assert re.search(r'id="ask-button"[^>]*disabled', page)
    _assert_clean(page, tmp_path)
    events = _ask(client)
    assert events[-1][0] == "error" and model_files.BROKEN in events[-1][1]["message"]
    _assert_clean(str(events), tmp_path)


def test_a_failed_load_is_reported_with_a_reference_and_remembered(tmp_path, tiny_models):
    llm = _mismatched_copy(tiny_models["llm"], tmp_path / "mismatched-gemma")
    app = _app(tmp_path, tiny_models, LLM_MODEL=str(llm))
    client = app.test_client()
    login(client)
    assert 'id="models-missing"' not in client.get("/chat/").get_data(as_text=True)
    events = _ask(client)  # the first question tries the load, which fails
    event, data = events[-1]
    assert event == "error" and "모델 파일을 불러오지 못했습니다" in data["message"]
    reference = re.search(r"참조 번호 ([0-9a-f]{8})", data["message"]).group(1)
    _assert_clean(str(events), tmp_path)
    page = client.get("/chat/").get_data(as_text=True)  # remembered: the chat is off now
    assert reference in page and re.search(r'id="ask-button"[^>]*disabled', page)
    _assert_clean(page, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    restarted = make_rag_app(other, tiny_models, LLM_MODEL=str(llm),
                             MODEL_DIR=app.config["MODEL_DIR"])  # fmt: skip
    with restarted.app_context():  # another process sees the same memory
        assert reference in runtime.providers().status()["llm"]
    result = app.test_cli_runner().invoke(args=["models", "retry"])
    assert result.exit_code == 0 and "1건을 지웠습니다" in result.output
    with app.app_context():
        assert runtime.providers().status()["llm"] is None


def test_broken_embedder_refuses_uploads_at_once(tmp_path, tiny_models, korean_pdf):
    embedder = _broken_copy(tiny_models["embedding"], tmp_path / "broken-embedder")
    app = _app(tmp_path, tiny_models, EMBEDDING_MODEL=str(embedder))
    client = app.test_client()
    login(client)
    response = upload(client, korean_pdf)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "지금은 문서를 올릴 수 없습니다" in page and model_files.BROKEN in page
    _assert_clean(page, tmp_path)
    with app.app_context():
        assert db.session.query(Document).count() == 0
    upload_dir = tmp_path / "upload"
    assert not upload_dir.exists() or not any(p.is_file() for p in upload_dir.rglob("*"))


def test_header_checks(tmp_path, tiny_models):
    assert model_files.folder_problem(tiny_models["llm"]) is None
    assert model_files.folder_problem(tiny_models["embedding"]) is None
    truncated = tmp_path / "truncated"
    shutil.copytree(tiny_models["llm"], truncated)
    (weights,) = truncated.glob("*.safetensors")
    weights.write_bytes(weights.read_bytes()[:-100])
    assert model_files.folder_problem(truncated) == model_files.BROKEN
    (truncated / "model.safetensors").unlink()
    assert "가중치" in model_files.folder_problem(truncated)
