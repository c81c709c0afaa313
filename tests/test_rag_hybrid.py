"""Kiwi lexical retrieval, fusion, the per-process index cache, reranking and `flask rag eval`."""

import json

import pytest

from pybo.knowledge import evaluation, lexical, providers
from pybo.knowledge.fusion import FusionSettings, fuse
from pybo.knowledge.hybrid import HybridRetriever, MemoryChunks, RetrievalSettings, Scope
from tests.fixtures import korean_qa
from tests.fixtures.pdfs import pdf_bytes
from tests.fixtures.rag import document_states, login, make_rag_app, upload, wait_jobs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("은행은 예금을 받는다", {"은행", "예금"}),
        ("은행에서 대출을", {"은행", "대출"}),
        ("보증금은 5,000만 원이다", {"보증금", "5000"}),
        ("2024년 기준금리", {"2024", "기준", "금리"}),
        ("계약서 제3조에 따라", {"계약서", "3"}),
        ("Flask와 Python 3.11을 쓴다", {"flask", "python", "3.11"}),
        ("서울특별시", {"서울", "특별시"}),
    ],
)
def test_korean_analysis(text, expected):
    assert expected <= set(lexical.analyze(text)), lexical.analyze(text)


def test_particle_glued_query_finds_the_word():
    index = lexical.LexicalIndex.build(
        ["a", "b"], lexical.analyze_many(["은행 창구", "우체국 창구"])
    )
    assert [key for key, _ in index.top(lexical.analyze("은행은 어디"), 5)] == ["a"]
    assert index.top(lexical.analyze("없는단어"), 5) == []


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("score", ["x", "y", "z"]),  # 0.7*1+0.3*0.8, 0.7*0.6+0.3*0.9, 0.7*0.2+0.3*0.1
        ("rrf", ["x", "y", "z"]),  # 0.7/61+0.3/62, 0.7/62+0.3/61, 0.7/63+0.3/63
        ("lexical", ["x", "y", "z"]),
        ("dense", ["y", "x", "z"]),
    ],
)
def test_fuse_methods(method, expected):
    lexical_scores = {"x": 10.0, "y": 6.0, "z": 2.0}
    dense_scores = {"y": 0.9, "x": 0.8, "z": 0.1}
    assert fuse(lexical_scores, dense_scores, FusionSettings(method, 0.7, 0.3)) == expected


def test_fusion_ties_follow_bm25():
    lexical_scores = {"a:1": 3.0, "a:2": 3.0, "b:1": 1.0}
    dense_scores = {"a:1": 0.5, "a:2": 0.5, "b:1": 0.5}
    ranked = fuse(lexical_scores, dense_scores, FusionSettings("score", 1.0, 0.0))
    assert ranked == fuse(lexical_scores, dense_scores, FusionSettings("lexical"))


def test_lexical_context_adds_same_page_neighbours():
    from pybo.knowledge.hybrid import ChunkRow, with_context

    rows = [
        ChunkRow("1:0", "1", 1, 0, "f", "", ["은행"]),
        ChunkRow("1:1", "1", 1, 1, "f", "", ["금리"]),
        ChunkRow("1:2", "1", 2, 2, "f", "", ["대출"]),  # another page: not a neighbour
    ]
    assert with_context(rows, 1) == [["은행", "금리"], ["금리", "은행"], ["대출"]]
    assert with_context(rows, 0) == [["은행"], ["금리"], ["대출"]]


def _fixture_retriever(tmp_path, tiny_models, settings=None):
    settings = settings or RetrievalSettings()
    embeddings = providers.load_embeddings(tiny_models["embedding"])
    client = providers.chroma_client(providers.ModelSettings("", "", vector_dir=str(tmp_path)))
    store = providers.make_vector_store(client, embeddings, "fixture")
    retriever = HybridRetriever(store, MemoryChunks(), settings)
    data = evaluation.load_squad_data(korean_qa.squad_json(), "fixture")
    tokenizer = embeddings._client.tokenizer
    evaluation.index_corpus(data, retriever, tokenizer, 128)
    return retriever, data


def test_default_fusion_never_worse_than_its_inputs(tmp_path, tiny_models):
    retriever, data = _fixture_retriever(tmp_path, tiny_models)
    results = evaluation.evaluate(data, retriever, ["lexical", "dense", None])
    for metric in ("recall@1", "recall@3", "recall@5", "mrr@10"):
        best = max(results["lexical"][metric], results["dense"][metric])
        assert results[None][metric] >= best, (metric, results)
    assert results["lexical"]["recall@1"] >= 0.9  # Kiwi BM25 alone on this set


def test_owner_and_document_filters_apply_to_lexical(rag_app, korean_pdf):
    alice, bob = rag_app.test_client(), rag_app.test_client()
    login(alice, "alice")
    login(bob, "bob")
    upload(alice, korean_pdf, "은행.pdf")
    upload(
        alice,
        pdf_bytes(["우주선 설계도와 로켓 엔진 출력 계산표입니다. 연료는 액체 수소입니다."]),
        "우주.pdf",
    )
    upload(
        bob,
        pdf_bytes(["밥의 은행 거래 내역과 정기예금 금리 메모입니다. 적금 만기일도 적었습니다."]),
        "밥.pdf",
    )
    wait_jobs(rag_app)
    ids = {d["filename"]: d["id"] for d in document_states(alice) + document_states(bob)}
    with rag_app.app_context():
        from pybo.rag_chat import runtime

        retriever = runtime.retriever()
        query = "은행 정기예금 금리"
        found = {h.document_id for h in retriever.search(query, [Scope("u1")], 10, "lexical")}
        assert found == {ids["은행.pdf"]}
        bobs = {h.document_id for h in retriever.search(query, [Scope("u2")], 10, "lexical")}
        assert bobs == {ids["밥.pdf"]}
        only_space = [Scope("u1", [ids["우주.pdf"]])]
        scoped = retriever.search("은행 우주선", only_space, k=10, method="lexical")
        assert {h.document_id for h in scoped} == {ids["우주.pdf"]}
        assert retriever.search("은행", [Scope("u2", [ids["은행.pdf"]])], k=10) == []


def test_index_follows_add_delete_and_reindex(rag_app, rag_client, korean_pdf):
    from pybo.extensions import db
    from pybo.rag_chat import runtime
    from pybo.rag_chat.models import Chunk

    login(rag_client)
    upload(
        rag_client,
        pdf_bytes(["우주선 설계도와 로켓 엔진 출력 계산표입니다. 연료는 액체 수소입니다."]),
    )
    wait_jobs(rag_app)
    (doc,) = document_states(rag_client)

    def lexical_docs(query):
        with rag_app.app_context():
            hits = runtime.retriever().search(query, [Scope("u1")], k=5, method="lexical")
            return {h.document_id for h in hits}

    assert lexical_docs("로켓 연료") == {doc["id"]}
    for _ in range(2):
        rag_client.post(f"/chat/documents/{doc['id']}/reindex")
        wait_jobs(rag_app)
    with rag_app.app_context():
        rows = db.session.scalar(
            db.select(db.func.count(Chunk.id)).where(Chunk.document_id == doc["id"])
        )
        assert rows == doc["chunks_total"]
    assert lexical_docs("로켓 연료") == {doc["id"]}
    rag_client.post(f"/chat/documents/{doc['id']}/delete")
    assert lexical_docs("로켓 연료") == set()
    with rag_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Chunk.id))) == 0


def test_a_second_process_sees_new_chunks(tmp_path, tiny_models, rag_app, rag_client):
    """Two app instances on one database and vector store (two web processes, or a web
    process and a worker): the one that did not write rebuilds its cached index."""
    from pybo import create_app
    from pybo.rag_chat import runtime
    from tests.conftest import make_test_config

    config = make_test_config(
        tmp_path, EMBEDDING_MODEL=tiny_models["embedding"], LLM_MODEL=tiny_models["llm"],
        CHROMA_COLLECTION=rag_app.config["CHROMA_COLLECTION"],
    )  # fmt: skip
    other = create_app(config)  # same tmp_path: the same database file and vector store
    login(rag_client)
    upload(
        rag_client,
        pdf_bytes(["첫 번째 문서는 김치와 된장의 발효 과정을 설명합니다. 유산균이 중요합니다."]),
    )
    wait_jobs(rag_app)
    with other.app_context():
        first = runtime.retriever().search("발효 유산균", [Scope("u1")], k=5, method="lexical")
        assert len(first) >= 1
    upload(
        rag_client,
        pdf_bytes(["두 번째 문서는 로켓 엔진과 액체 수소 연료 탱크를 설명합니다. 추력이 큽니다."]),
    )
    wait_jobs(rag_app)
    with other.app_context():
        second = runtime.retriever().search("로켓 엔진 추력", [Scope("u1")], k=5, method="lexical")
        assert {h.title for h in second} == {"문서.pdf"} and "로켓" in second[0].text


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory, tiny_models):
    """A CrossEncoder folder (BERT, one label) with the tiny embedder's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    path = tmp_path_factory.mktemp("reranker")
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["embedding"])
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, num_labels=1)  # fmt: skip
    torch.manual_seed(3)
    BertForSequenceClassification(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return str(path)


def test_reranker_orders_the_fused_top(tmp_path, tiny_models, tiny_cross_encoder):
    retriever, data = _fixture_retriever(tmp_path, tiny_models, RetrievalSettings(rerank_top=5))
    reranker = providers.load_reranker(tiny_cross_encoder)
    query = data.queries[0]
    fused = retriever.search(query, [Scope("eval")], k=5, rerank=False)
    retriever.reranker = reranker
    reranked = retriever.search(query, [Scope("eval")], k=5)
    scores = reranker.predict([(query, hit.text) for hit in fused])
    expected = [fused[i].chunk for i in sorted(range(len(fused)), key=lambda i: -float(scores[i]))]
    assert [hit.chunk for hit in reranked] == expected


def test_reranker_from_config(tmp_path, tiny_models, tiny_cross_encoder):
    from pybo.rag_chat import runtime

    app = make_rag_app(tmp_path, tiny_models, RERANKER_MODEL=tiny_cross_encoder)
    with app.app_context():
        assert runtime.retriever().reranker is not None


def _write_autorag(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    corpus = {
        "doc_id": [f"d{i}" for i in range(len(korean_qa.PASSAGES))],
        "contents": korean_qa.PASSAGES,
    }
    qa = {
        "qid": [f"q{i}" for i in range(len(korean_qa.QUESTIONS))],
        "query": [q for q, _ in korean_qa.QUESTIONS],
        "retrieval_gt": [[[f"d{g}"]] for _, g in korean_qa.QUESTIONS],
        "generation_gt": [["-"] for _ in korean_qa.QUESTIONS],
    }
    pq.write_table(pa.table(corpus), folder / "corpus.parquet")
    pq.write_table(pa.table(qa), folder / "qa.parquet")


@pytest.mark.parametrize("kind", ["squad", "autorag"])
def test_eval_command_end_to_end(rag_app, tmp_path, kind):
    if kind == "squad":
        dataset = tmp_path / "tiny_squad.json"
        dataset.write_text(json.dumps(korean_qa.squad_json(), ensure_ascii=False), encoding="utf-8")
    else:
        dataset = tmp_path / "autorag"
        _write_autorag(dataset)
    out = tmp_path / "out"
    result = rag_app.test_cli_runner().invoke(
        args=["rag", "eval", str(dataset), "--out", str(out), "--modes", "lexical,dense,hybrid,rrf"]
    )
    assert result.exit_code == 0, result.output
    assert "recall@1" in result.output and "hybrid" in result.output
    report = json.loads((out / "retrieval_eval.json").read_text())
    assert report["queries"] == len(korean_qa.QUESTIONS) and report["passages"] == 12
    assert set(report["results"]) == {"lexical", "dense", "hybrid", "rrf"}
    assert report["results"]["lexical"]["recall@1"] >= 0.9
    assert (out / "retrieval_eval.png").read_bytes()[:4] == b"\x89PNG"
    assert not list((tmp_path / "vector_store").glob("*eval*"))  # users' store untouched


def test_eval_lexical_only_embeds_nothing_and_needs_no_model(rag_app, tmp_path):
    from pybo.rag_chat import runtime

    rag_app.config["EMBEDDING_MODEL"] = str(tmp_path / "absent")  # no embedder installed
    runtime.init_app(rag_app)
    dataset = tmp_path / "d.json"
    dataset.write_text(json.dumps(korean_qa.squad_json(), ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    result = rag_app.test_cli_runner().invoke(
        args=["rag", "eval", str(dataset), "--out", str(out), "--modes", "lexical"]
    )
    assert result.exit_code == 0, result.output
    assert "질문 임베딩" not in result.output
    report = json.loads((out / "retrieval_eval.json").read_text())
    assert report["embedding"] is None and report["tokenizer"] == "approx-2-chars"
    assert report["chunking"] == {"max_tokens": 126, "max_seq_length": 128, "overlap": 24}
    assert f"{report['chunks']}/{report['chunks']}" in result.output  # the bar reached the end
    assert report["results"]["lexical"]["recall@1"] >= 0.9


def test_eval_embedding_option_needs_only_that_model(rag_app, tmp_path, tiny_models):
    from pybo.rag_chat import runtime

    rag_app.config["EMBEDDING_MODEL"] = str(tmp_path / "absent")
    runtime.init_app(rag_app)
    dataset = tmp_path / "d.json"
    dataset.write_text(json.dumps(korean_qa.squad_json(), ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    result = rag_app.test_cli_runner().invoke(
        args=["rag", "eval", str(dataset), "--out", str(out), "--modes", "lexical,dense",
              "--embedding", tiny_models["embedding"]]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "retrieval_eval.json").read_text())
    assert report["embedding"] == report["tokenizer"] == tiny_models["embedding"]
    assert set(report["results"]) == {"lexical", "dense"}


def test_eval_command_rejects_bad_input(rag_app, tmp_path):
    bad = tmp_path / "data.txt"
    bad.write_text("nothing")
    runner = rag_app.test_cli_runner()
    assert "데이터셋을 읽을 수 없습니다" in runner.invoke(args=["rag", "eval", str(bad)]).output
    good = tmp_path / "d.json"
    good.write_text(json.dumps(korean_qa.squad_json(), ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["rag", "eval", str(good), "--modes", "magic"]).exit_code != 0
    assert (
        "RERANKER_MODEL"
        in runner.invoke(args=["rag", "eval", str(good), "--modes", "rerank"]).output
    )


@pytest.fixture(scope="module")
def corpus_tokens():
    """1,500 generated chunks and 200 queries over the Korean fixture set's morphemes, with
    a skewed word distribution like real text (some words everywhere, most rare)."""
    import random

    words = sorted({t for text in korean_qa.PASSAGES for t in lexical.analyze(text)})
    weights = [1.0 / (rank + 1) for rank in range(len(words))]
    rng = random.Random(11)
    chunks = [rng.choices(words, weights, k=rng.randint(0, 60)) for _ in range(1500)]
    queries = [lexical.analyze(q) for q, _ in korean_qa.QUESTIONS]
    queries += [rng.sample(words, rng.randint(1, 6)) for _ in range(176)]
    return chunks, queries


def test_lexical_scores_equal_bm25s(corpus_tokens):
    """The incremental index scores exactly like bm25s (Lucene idf), which the retrieval
    figures in the README were measured with."""
    import bm25s
    import numpy as np

    passages, queries = corpus_tokens
    ours = lexical.LexicalIndex.build([str(i) for i in range(len(passages))], passages, 0.7, 0.4)
    reference = bm25s.BM25(k1=0.7, b=0.4)
    reference.index([tokens or [""] for tokens in passages], show_progress=False)
    for query in queries:
        known = [t for t in query if t in reference.vocab_dict]
        if known:
            assert np.allclose(ours.scores(query), reference.get_scores(known), atol=1e-4)


def test_incremental_index_ranks_like_a_rebuild(corpus_tokens):
    """Adds in batches, removals (with compaction) and re-adds give the same scores and
    rankings as an index built from scratch over the final chunks."""
    import random

    import numpy as np

    passages, queries = corpus_tokens
    keys = [f"{i // 10}:{i % 10}" for i in range(len(passages))]
    order = list(range(len(passages)))
    random.Random(7).shuffle(order)
    grown = lexical.LexicalIndex()
    for start in range(0, len(order), 30):
        part = order[start : start + 30]
        grown.add([keys[i] for i in part], [passages[i] for i in part])
    gone = order[:900]  # most of it: forces a compaction of the postings
    grown.remove([keys[i] for i in gone])
    back = gone[:100]
    grown.add([keys[i] for i in back], [passages[i] for i in back])
    final = sorted(set(range(len(passages))) - set(gone) | set(back))
    rebuilt = lexical.LexicalIndex.build([keys[i] for i in final], [passages[i] for i in final])
    assert len(grown) == len(rebuilt) == len(final)
    for query in queries:
        assert grown.top(query, 10) == rebuilt.top(query, 10)
        mine = {key: grown.scores(query)[slot] for key, slot in grown.position.items()}
        theirs = {key: rebuilt.scores(query)[slot] for key, slot in rebuilt.position.items()}
        assert np.allclose([mine[k] for k in sorted(mine)], [theirs[k] for k in sorted(mine)])
    sources = {keys[i].split(":")[0] for i in final[:5]}
    limited = grown.top(queries[0] + queries[1], 50, sources={*sources})
    assert {key.split(":")[0] for key, _ in limited} <= sources


def test_retriever_catches_up_by_source(tmp_path, tiny_models):
    """A second retriever over the same repository re-reads only what changed, and its
    results equal those of a fresh one (a restarted process)."""
    from pybo.knowledge.chunking import Chunk
    from pybo.knowledge.hybrid import Target

    embeddings = providers.load_embeddings(tiny_models["embedding"])
    client = providers.chroma_client(providers.ModelSettings("", "", vector_dir=str(tmp_path)))
    store = providers.make_vector_store(client, embeddings, "catchup")
    repository = MemoryChunks()
    writer = HybridRetriever(store, repository)
    reader = HybridRetriever(store, repository)
    texts = korean_qa.PASSAGES
    for i, text in enumerate(texts[:6]):
        writer.add(Target("s", f"d{i}", f"문서{i}"), [Chunk(text, 1, 0)])
    query = "훈민정음을 창제한 해는?"
    assert reader.search(query, [Scope("s")], k=3)  # builds the reader's index
    loaded = []
    original = repository.load
    repository.load = lambda space, sources=None: loaded.append(sources) or original(space, sources)
    writer.delete("s", "d3")  # the passage about 훈민정음
    writer.add(Target("s", "d9", "새 문서"), [Chunk(texts[3] + " 집현전 학자들이 도왔다.", 1, 0)])
    after = reader.search(query, [Scope("s")], k=3)
    assert loaded == [["d3", "d9"]]  # only the changed sources were read again
    fresh = HybridRetriever(store, repository).search(query, [Scope("s")], k=3)
    assert [(h.key, h.title) for h in after] == [(h.key, h.title) for h in fresh]
    assert after[0].title == "새 문서" and all(h.title != "문서3" for h in after)
