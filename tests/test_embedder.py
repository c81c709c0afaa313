"""The embedder's backends (torch, onnx, onnx-int8) on a tiny model in the real on-disk
layout (save_pretrained + sentence-transformers' modules.json and pooling config)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from pybo.knowledge import onnx_module
from pybo.knowledge.providers import ModelSettings, ModelUnavailable, Providers
from tests.conftest import build_app
from tests.fixtures.tiny_models import CORPUS, build_tiny_embedder

TEXTS = [
    *CORPUS[:8],
    "  앞뒤에 공백이 있는 문장  ",
    "줄바꿈이\n있는 문장\n입니다",
    "아주 긴 문장 " * 200,  # far beyond max_seq_length: truncated like sentence-transformers
    "짧",
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return build_tiny_embedder(tmp_path_factory.mktemp("emb") / "ko-sroberta")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, pristine):
    """A copy of the tiny model with its ONNX export written next to it."""
    path = tmp_path_factory.mktemp("emb-onnx") / "ko-sroberta"
    shutil.copytree(pristine, path)
    onnx_module.export(path)
    return path


@pytest.fixture
def model_copy(tmp_path, pristine):
    path = tmp_path / "ko-sroberta"
    shutil.copytree(pristine, path)
    return path


def providers_for(location, backend, tmp_path):
    settings = ModelSettings(
        embedding=str(location), llm=str(tmp_path / "no-llm"), embedding_backend=backend
    )
    return Providers(settings)


def cosines(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_export_writes_the_files_sentence_transformers_expects(exported):
    assert (exported / "onnx" / "model.onnx").is_file()
    int8 = onnx_module.export_path(exported, "onnx-int8")
    assert int8.is_file() and int8.parent == exported / "onnx"
    assert int8.name in {name.split("/")[1] for name in onnx_module.INT8_FILES.values()}
    assert not list((exported / "onnx").glob("*.tmp"))


@pytest.mark.parametrize("backend", ["torch", "onnx", "onnx-int8"])
def test_every_backend_loads_from_the_real_layout(exported, backend, tmp_path):
    chosen = providers_for(exported, backend, tmp_path)
    assert chosen.status()["embedding"] is None
    assert chosen.embedding_backend() == backend
    embeddings = chosen.embeddings()
    assert type(embeddings).__name__ == (
        "HuggingFaceEmbeddings" if backend == "torch" else "OnnxEmbeddings"
    )
    tokenizer, max_seq = chosen.embedding_tokenizer()
    assert max_seq == 128 and tokenizer("은행 금리")["input_ids"]
    vectors = np.array(embeddings.embed_documents(["은행 금리", "플라스크 웹"]))
    assert vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_onnx_gives_the_torch_vectors(exported, tmp_path):
    torch_emb = providers_for(exported, "torch", tmp_path).embeddings()
    reference = np.array(torch_emb.embed_documents(TEXTS))
    for backend, tolerance in (("onnx", 1e-5), ("onnx-int8", None)):
        embeddings = providers_for(exported, backend, tmp_path).embeddings()
        documents = np.array(embeddings.embed_documents(TEXTS))
        queries = np.array([embeddings.embed_query(text) for text in TEXTS])  # batches of one
        for got in (documents, queries):
            if tolerance:
                assert np.abs(got - reference).max() < tolerance
            else:
                assert cosines(got, reference).min() >= 0.99
        torch_query = torch_emb.embed_query(TEXTS[0])
        assert cosines([embeddings.embed_query(TEXTS[0])], [torch_query])[0] >= 0.99


def test_auto_picks_int8_only_when_the_export_exists(model_copy, tmp_path):
    assert providers_for(model_copy, "auto", tmp_path).embedding_backend() == "torch"
    onnx_module.export(model_copy)
    chosen = providers_for(model_copy, "auto", tmp_path)
    assert chosen.embedding_backend() == "onnx-int8"
    assert chosen.embeddings().backend == "onnx-int8"
    assert onnx_module.choose_backend("auto", model_copy, "cuda") == "torch"  # GPU: torch
    with pytest.raises(ValueError, match="EMBEDDING_BACKEND"):
        onnx_module.choose_backend("tensorrt", model_copy, "cpu")


def test_an_int8_file_from_another_cpu_still_loads(model_copy):
    onnx_module.export(model_copy)
    mine = onnx_module.export_path(model_copy, "onnx-int8")
    other = next(
        model_copy / name for name in onnx_module.INT8_FILES.values() if (model_copy / name) != mine
    )
    mine.rename(other)
    assert onnx_module.export_path(model_copy, "onnx-int8") == other
    assert onnx_module.choose_backend("auto", model_copy, "cpu") == "onnx-int8"
    assert onnx_module.OnnxEmbeddings(model_copy).embed_query("은행")


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_forced_onnx_without_export_says_what_to_run(model_copy, backend, tmp_path):
    chosen = providers_for(model_copy, backend, tmp_path)
    assert "flask models optimize" in chosen.status()["embedding"]
    with pytest.raises(ModelUnavailable) as info:
        chosen.embeddings()
    assert info.value.hint == "flask models optimize"


def app_with_embedder(tmp_path, location, **overrides):
    return build_app(
        tmp_path, EMBEDDING_MODEL=str(location), LLM_MODEL=str(tmp_path / "no-llm"), **overrides
    )


def test_flask_models_optimize_writes_the_export(model_copy, tmp_path):
    app = app_with_embedder(tmp_path, model_copy)
    result = app.test_cli_runner().invoke(args=["models", "optimize"])
    assert result.exit_code == 0, result.output
    assert "ONNX 변환 중" in result.output and "양자화" in result.output and "완료" in result.output
    assert (model_copy / "onnx" / "model.onnx").is_file()
    assert onnx_module.export_path(model_copy, "onnx-int8").is_file()
    from pybo.rag_chat import runtime

    with app.app_context():
        assert runtime.providers().embeddings().backend == "onnx-int8"  # auto on CPU
    again = app.test_cli_runner().invoke(args=["models", "optimize"])
    assert again.exit_code == 0 and "이미 있습니다" in again.output


def test_flask_models_optimize_without_a_model_is_korean(tmp_path):
    app = app_with_embedder(tmp_path, tmp_path / "absent")
    result = app.test_cli_runner().invoke(args=["models", "optimize"])
    assert result.exit_code != 0
    assert "임베딩 모델을 찾을 수 없습니다" in result.output
    assert "Traceback" not in result.output


def test_flask_models_download_writes_the_export(pristine, tmp_path, monkeypatch):
    """The hub is the one boundary faked: `snapshot_download` copies the tiny model."""
    import huggingface_hub

    from pybo.rag_chat import models_cli

    target = tmp_path / "models" / "ko-sroberta"

    def snapshot_download(repo_id, local_dir, token=None):
        assert repo_id == "jhgan/ko-sroberta-multitask"
        shutil.copytree(pristine, local_dir)
        return local_dir

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(models_cli, "hub_reachable", lambda timeout=3.0: True)
    app = app_with_embedder(tmp_path, target)
    result = app.test_cli_runner().invoke(args=["models", "download", "--only", "embedding"])
    assert result.exit_code == 0, result.output
    assert "완료" in result.output
    assert onnx_module.export_path(target, "onnx-int8").is_file()


def test_a_pdf_is_indexed_and_found_with_the_int8_embedder(exported, tiny_models, tmp_path):
    """Upload -> ready -> search through the app, the embedder being the int8 export
    (EMBEDDING_BACKEND=auto on CPU); chunks are measured in its tokenizer."""
    from pybo.auth import service as auth_service
    from pybo.knowledge.hybrid import Scope
    from pybo.rag_chat import runtime
    from tests.fixtures.board import PASSWORD
    from tests.fixtures.pdfs import KOREAN_PAGES, pdf_bytes
    from tests.fixtures.rag import document_states, login, make_rag_app, upload, wait_jobs

    app = make_rag_app(tmp_path, {**tiny_models, "embedding": str(exported)})
    with app.app_context():
        auth_service.signup("alice", "alice@example.com", PASSWORD)
        assert runtime.providers().embeddings().backend == "onnx-int8"
    client = app.test_client()
    login(client)
    assert upload(client, pdf_bytes(KOREAN_PAGES), "은행.pdf").status_code == 302
    wait_jobs(app)
    (state,) = document_states(client)
    assert state["status"] == "ready", state
    with app.app_context():
        hits = runtime.retriever().search("블루프린트로 기능을 나눕니다", [Scope("u1")], k=1)
    assert (hits[0].title, hits[0].page) == ("은행.pdf", 2)


def test_a_broken_int8_file_is_reported_and_a_new_export_clears_it(model_copy, tmp_path):
    onnx_module.export(model_copy)
    int8 = onnx_module.export_path(model_copy, "onnx-int8")
    int8.write_bytes(b"not an onnx file")
    chosen = providers_for(model_copy, "auto", tmp_path)
    with pytest.raises(ModelUnavailable) as info:
        chosen.embeddings()
    assert "참조 번호" in info.value.reason and str(model_copy) not in info.value.reason
    assert chosen.status()["embedding"]  # remembered: not retried on every request
    onnx_module.export(model_copy, force=True)  # what `flask models optimize --force` does
    assert chosen.status()["embedding"] is None
    assert chosen.embeddings().backend == "onnx-int8"


def test_rag_status_names_the_embedding_engine(model_copy, tmp_path):
    app = app_with_embedder(tmp_path, model_copy)
    before = app.test_cli_runner().invoke(args=["rag", "status"])
    assert before.exit_code == 0 and "flask models optimize" in before.output
    onnx_module.export(model_copy)
    after = app.test_cli_runner().invoke(args=["rag", "status"])
    assert "임베딩 엔진: auto (CPU에서 int8 ONNX" in after.output


def test_a_failed_export_after_download_leaves_the_download_usable(pristine, tmp_path, monkeypatch):
    import huggingface_hub

    from pybo.rag_chat import models_cli

    target = tmp_path / "models" / "ko-sroberta"

    def snapshot_download(repo_id, local_dir, token=None):  # a file where onnx/ must go
        shutil.copytree(pristine, local_dir)
        (Path(local_dir) / "onnx").write_text("in the way")
        return local_dir

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(models_cli, "hub_reachable", lambda timeout=3.0: True)
    app = app_with_embedder(tmp_path, target)
    result = app.test_cli_runner().invoke(args=["models", "download", "--only", "embedding"])
    assert result.exit_code == 0, result.output
    assert "ONNX 변환에 실패했습니다 (참조 번호" in result.output
    assert "torch로 동작합니다" in result.output and "Traceback" not in result.output
    assert (target / "onnx").is_file()
