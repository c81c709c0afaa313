"""The real loading code on tiny models in the real layouts; CLI commands."""

import pytest

from pybo.knowledge import providers
from pybo.knowledge.providers import ModelUnavailable, Providers
from tests.fixtures.pdfs import pdf_bytes


def test_gemma_layout_needs_the_text_tower_loader(tiny_models):
    from transformers import AutoModelForCausalLM

    with pytest.raises(ImportError, match="timm"):
        AutoModelForCausalLM.from_pretrained(tiny_models["llm"])
    model, tokenizer = providers.load_llm(tiny_models["llm"], "cpu")
    assert type(model).__name__ == "Gemma3nForCausalLM"
    assert str(next(model.parameters()).dtype) == "torch.bfloat16"


def test_prompt_has_a_single_bos(tiny_models):
    from langchain_core.messages import HumanMessage, SystemMessage

    from pybo.rag_chat.generation import LocalChatModel

    model, tokenizer = providers.load_llm(tiny_models["llm"], "cpu")
    llm = LocalChatModel(model=model, tokenizer=tokenizer, max_new_tokens=4)
    ids = llm._inputs([SystemMessage("지침"), HumanMessage("질문")])["input_ids"][0].tolist()
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id
    text = tokenizer.decode(ids)
    assert "<start_of_turn>user\n지침\n\n질문<end_of_turn>" in text
    assert text.endswith("<start_of_turn>model\n")


def test_providers_load_once_and_report_missing(tiny_models, tmp_path):
    settings = providers.ModelSettings(
        embedding=tiny_models["embedding"], llm=str(tmp_path / "missing"),
        vector_dir=str(tmp_path / "vs"),
    )  # fmt: skip
    built = Providers(settings)
    assert built.embeddings() is built.embeddings()
    tokenizer, max_seq = built.embedding_tokenizer()
    assert max_seq == 128 and tokenizer.tokenize("은행은")
    assert built.status() == {"embedding": None, "llm": "폴더가 없습니다"}
    with pytest.raises(ModelUnavailable) as info:
        built.llm()
    assert info.value.kind == "llm" and "flask models download" in info.value.hint


def test_broken_model_folder_is_reported_not_raised(tmp_path):
    broken = tmp_path / "gemma"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    (broken / "model.safetensors").write_bytes(b"garbage")
    built = Providers(providers.ModelSettings(embedding="x", llm=str(broken)))
    with pytest.raises(ModelUnavailable, match="손상되었습니다") as caught:
        built.llm()  # found by the header check, before any load is tried
    assert str(broken) not in caught.value.reason and "flask models download" in caught.value.reason


@pytest.mark.parametrize(
    "error, remembered",
    [
        (RuntimeError("cannot schedule new futures after interpreter shutdown"), False),
        (MemoryError(), False),
        (OSError("Error while deserializing header: invalid header"), True),
    ],
)
def test_only_failures_of_the_files_are_remembered(tiny_models, tmp_path, error, remembered):
    """A server stopped while a model loaded once wrote the failure to disk, and every later
    process refused a good model. Only the files' own failures are remembered."""
    settings = providers.ModelSettings(
        embedding=tiny_models["embedding"], llm="", vector_dir=str(tmp_path / "vs"),
        failure_file=str(tmp_path / "failures.json"),
    )  # fmt: skip

    def failing(location, device):
        raise error

    with pytest.raises(ModelUnavailable):
        Providers(settings)._load("embedding", tiny_models["embedding"], failing)
    later = Providers(settings)  # another process reading the same file
    assert (later.failures.recall(tiny_models["embedding"]) is not None) is remembered
    if not remembered:
        assert later.embeddings().embed_query("은행") is not None


def test_cli_ingest_ask_status(rag_app, tmp_path):
    runner = rag_app.test_cli_runner()
    path = tmp_path / "계약.pdf"
    path.write_bytes(
        pdf_bytes(["계약서 제3조에 따라 임대료는 매월 1일에 지급한다. 보증금은 5,000만 원이다."])
    )
    result = runner.invoke(args=["rag", "ingest", str(path), "--user", "alice"])
    assert result.exit_code == 0, result.output
    assert "색인 완료" in result.output
    again = runner.invoke(args=["rag", "ingest", str(path), "--user", "alice"])
    assert "이미 색인된 문서입니다" in again.output
    asked = runner.invoke(args=["rag", "ask", "보증금은 얼마?", "--user", "alice"])
    assert asked.exit_code == 0, asked.output
    assert "출처:" in asked.output and "[1] 계약.pdf 1쪽" in asked.output
    by_doc = runner.invoke(args=["rag", "ask", "임대료?", "--document", "1"])
    assert "[1] 계약.pdf 1쪽" in by_doc.output
    nobody = runner.invoke(args=["rag", "ask", "임대료?", "--user", "bob"])
    assert "[1]" not in nobody.output  # bob has no documents: no sources
    status = runner.invoke(args=["rag", "status"])
    assert "완료: 1개" in status.output and "언어 모델: 준비됨" in status.output


def test_cli_ask_needs_a_scope(rag_app):
    result = rag_app.test_cli_runner().invoke(args=["rag", "ask", "질문"])
    assert result.exit_code != 0 and "--user" in result.output


def test_models_download_offline_says_so(rag_app, monkeypatch, tmp_path):
    from pybo.rag_chat import runtime

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rag_app.config["LLM_MODEL"] = str(tmp_path / "absent")
    runtime.init_app(rag_app)
    result = rag_app.test_cli_runner().invoke(args=["models", "download"])
    assert result.exit_code != 0 and "연결할 수 없습니다" in result.output
    out = result.output
    assert "HF_TOKEN" in out and "약관에 동의" in out and "google/gemma-3n-E2B-it" in out
    assert f"{tmp_path / 'absent'}/  ← google/gemma-3n-E2B-it" in out  # where to copy it
    assert "ko-sroberta" not in out  # the embedder is there: nothing to say about it


def test_models_download_soft_starts_anyway(rag_app, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rag_app.config["LLM_MODEL"] = str(tmp_path / "absent")
    from pybo.rag_chat import runtime

    runtime.init_app(rag_app)
    result = rag_app.test_cli_runner().invoke(args=["models", "download", "--soft"])
    assert result.exit_code == 0 and "모델 없이 시작합니다" in result.output


def test_models_download_nothing_to_do(rag_app):
    result = rag_app.test_cli_runner().invoke(args=["models", "download"])
    assert result.exit_code == 0 and "모두 준비되어 있습니다" in result.output
