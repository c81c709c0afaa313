"""RAG speed: ingestion overhead, retrieval at 100,000 chunks, time to first token.

    python benchmarks/rag.py                 # tiny offline models (about a minute)
    python benchmarks/rag.py --shape real    # random weights in ko-sroberta's real shape
    python benchmarks/rag.py --embedding resources/models/ko-sroberta \\
                             --llm resources/models/gemma-3n-E2B-it    # the real models

Prints three figures, each beside the part that belongs to the model itself:
1. ingestion wall time of a Korean PDF vs. pure embedding time of the same chunks
   (target: overhead <= 15%);
2. retrieval p50 for one user holding N chunks (target <= 30 ms at 100,000), for all
   of their documents and for one document;
3. chat request -> first SSE token, minus the model's own time to its first token
   (target <= 50 ms).
"""

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KORQUAD = ROOT.parent / "shared" / "data" / "korquad" / "KorQuAD_v1.0_dev.json"
PASSWORD = "bench-password"
DOC_BASE = 10_000_000  # synthetic documents' ids, clear of real ones


def korean_paragraphs(count):
    """KorQuAD dev paragraphs when the dataset is beside the repo, else generated text."""
    if KORQUAD.is_file():
        data = json.loads(KORQUAD.read_text())
        return [p["context"] for a in data["data"] for p in a["paragraphs"]][:count]
    import random

    from benchmarks.board import sentence

    rng = random.Random(1)
    return [" ".join(sentence(rng, 12) for _ in range(6)) for _ in range(count)]


def p50_p95(samples):
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def build_models(shape, workdir):
    from tests.fixtures.tiny_models import build_tiny_embedder, build_tiny_gemma

    llm = str(build_tiny_gemma(workdir / "llm"))
    if shape == "tiny":
        return str(build_tiny_embedder(workdir / "emb")), llm
    real = build_tiny_embedder(
        workdir / "emb-real", hidden=768, layers=12, heads=12, vocab_size=32000,
        corpus=korean_paragraphs(1000),
    )  # fmt: skip
    return str(real), llm


def make_app(workdir, embedding, llm, max_new_tokens):
    from config import TestConfig
    from pybo import create_app
    from pybo.auth import service
    from pybo.extensions import db
    from pybo.question import search

    settings = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
        "UPLOAD_DIR": str(workdir / "upload"),
        "VECTOR_STORE_DIR": str(workdir / "vs"),
        "EMBEDDING_MODEL": embedding,
        "LLM_MODEL": llm,
        "LLM_MAX_NEW_TOKENS": max_new_tokens,
    }
    app = create_app(type("BenchConfig", (TestConfig,), settings))
    with app.app_context():
        db.drop_all()
        db.create_all()
        with db.engine.begin() as connection:
            search.ensure_index(connection)
        service.signup("bench", "bench@example.com", PASSWORD)
    return app


def bench_ingestion(app, pages):
    from pybo.knowledge import lexical
    from pybo.knowledge.chunking import split_pages
    from pybo.knowledge.hybrid import Target
    from pybo.knowledge.ingest import ingest_pdf
    from pybo.knowledge.pdf import extract_pages, open_pdf
    from pybo.rag_chat import runtime
    from tests.fixtures.pdfs import pdf_bytes

    path = Path(app.config["UPLOAD_DIR"]) / "bench.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf_bytes(korean_paragraphs(pages)))
    with app.app_context():
        retriever = runtime.retriever()
        tokenizer, max_seq = runtime.providers().embedding_tokenizer()
        retriever.embeddings.embed_documents(["워밍업 문장입니다."] * 8)
        lexical.analyze("워밍업 문장입니다.")  # Kiwi loads its model once per process
        target = Target("u999999", "999999", "bench.pdf", document_id=None)
        t0 = time.perf_counter()
        result = ingest_pdf(
            path, target=target, store=retriever, tokenizer=tokenizer, max_seq_length=max_seq,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        chunks = split_pages(extract_pages(open_pdf(path, 10_000))[0], tokenizer, max_seq)
        texts = [chunk.text for chunk in chunks]
        t0 = time.perf_counter()
        for start in range(0, len(texts), 64):
            retriever.embeddings.embed_documents(texts[start : start + 64])
        embed = time.perf_counter() - t0
        tokens = [len(tokenizer.encode(t, add_special_tokens=False)) for t in texts]
        retriever.delete(target.space, target.source)
    overhead = (wall - embed) / embed * 100
    print(f"ingestion: {result.pages} pages -> {result.chunks} chunks "
          f"(mean {statistics.mean(tokens):.0f}, max {max(tokens)} tokens of {max_seq - 2}): "
          f"wall {wall:.2f} s (extract+chunk {result.extract_seconds:.2f} s), "
          f"pure embedding {embed:.2f} s -> overhead {overhead:+.1f}% (target <= 15%)")  # fmt: skip


def fill_store(store, space, n_chunks, dim):
    """`n_chunks` random unit vectors in `space`, 100 chunks per synthetic document."""
    import numpy as np

    rng = np.random.default_rng(0)
    have = store.count(space)
    t0 = time.perf_counter()
    collection = store.collection(space)
    for start in range(have, n_chunks, 5000):
        size = min(5000, n_chunks - start)
        vectors = rng.standard_normal((size, dim)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        sources = [str(DOC_BASE + (start + i) // 100) for i in range(size)]
        metadatas = [
            {"source": source, "document_id": int(source), "page": 1 + (start + i) % 30,
             "chunk": (start + i) % 100}
            for i, source in enumerate(sources)
        ]  # fmt: skip
        collection.add(
            ids=[f"{source}:{(start + i) % 100}" for i, source in enumerate(sources)],
            embeddings=vectors.tolist(), metadatas=metadatas, documents=["본문"] * size,
        )  # fmt: skip
    if n_chunks > have:
        print(f"retrieval: stored {n_chunks - have:,} vectors ({dim}-d) in "
              f"{time.perf_counter() - t0:.1f} s")  # fmt: skip


def fill_chunk_table(app, owner, space, n_chunks, rng_seed=0):
    """Rows for the lexical index (Kiwi tokens drawn from real Korean paragraphs), one
    change-log entry per synthetic document, as ingestion writes them."""
    import numpy as np
    from sqlalchemy import func, insert, select

    from pybo.extensions import db
    from pybo.knowledge import lexical
    from pybo.rag_chat.models import Chunk, Document, IndexLog

    with app.app_context():
        have = db.session.scalar(select(func.count(Chunk.id)).where(Chunk.space == space))
        if have >= n_chunks:
            return
        counts = {}
        for tokens in lexical.analyze_many(korean_paragraphs(400)):
            for token in tokens:
                counts[token] = counts.get(token, 0) + 1
        vocab = np.array(list(counts))
        weights = np.array(list(counts.values()), dtype=float)
        weights /= weights.sum()
        rng = np.random.default_rng(rng_seed)
        documents = (n_chunks + 99) // 100
        db.session.execute(insert(Document), [
            {"id": DOC_BASE + d, "user_id": owner, "filename": f"doc{d}.pdf",
             "sha256": f"{d:064d}", "size": 1, "status": "ready"} for d in range(documents)
        ])  # fmt: skip
        for start in range(0, n_chunks, 10_000):
            rows = []
            for i in range(start, min(start + 10_000, n_chunks)):
                tokens = rng.choice(vocab, size=60, p=weights)
                rows.append({"space": space, "source": str(DOC_BASE + i // 100),
                             "document_id": DOC_BASE + i // 100, "chunk_index": i % 100,
                             "page": 1 + i % 30, "title": f"doc{i // 100}.pdf", "text": "본문",
                             "tokens": " ".join(tokens)})  # fmt: skip
            db.session.execute(insert(Chunk), rows)
        db.session.execute(insert(IndexLog), [
            {"space": space, "source": str(DOC_BASE + d)} for d in range(documents)
        ])  # fmt: skip
        db.session.commit()


QUERIES = [
    "정기예금 금리는 얼마인가요?",
    "세종대왕이 훈민정음을 창제한 해는?",
    "1950년 전쟁의 원인은 무엇인가?",
    "조선 시대의 과거 제도",
]


def timed_searches(retriever, scopes, repeat, method=None):
    samples = []
    for i in range(repeat):
        t0 = time.perf_counter()
        retriever.search(QUERIES[i % len(QUERIES)], scopes, k=4, method=method)
        samples.append((time.perf_counter() - t0) * 1000)
    return p50_p95(samples)


def bench_hybrid(app, space, n_chunks, repeat, pages):
    """Lexical and hybrid search at `n_chunks`, and what a change costs the next search:
    a full rebuild of the space's index (what every change cost before the index was
    incremental) against catching up after adding, then deleting, a `pages`-page PDF."""
    from pybo.knowledge.hybrid import HybridRetriever, Scope, Target
    from pybo.knowledge.ingest import ingest_pdf
    from pybo.rag_chat import runtime
    from tests.fixtures.pdfs import pdf_bytes

    scopes = [Scope(space)]
    with app.app_context():
        retriever = runtime.retriever()
        t0 = time.perf_counter()
        retriever.space_index(space)
        build = time.perf_counter() - t0
        print(f"lexical index of {n_chunks:,} chunks built from the database in {build:.2f} s "
              "(a full rebuild: before the incremental index, every change cost this)")
        for label, method in (("lexical (Kiwi + BM25)", "lexical"), ("hybrid (fused)", None)):
            p50, p95 = timed_searches(retriever, scopes, repeat, method)
            print(f"{label} search over {n_chunks:,} chunks: p50 {p50:.1f} ms (p95 {p95:.1f}) "
                  "(target <= 15 ms hybrid)")  # fmt: skip

        path = Path(app.config["UPLOAD_DIR"]) / "added.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf_bytes(korean_paragraphs(pages + 200)[200:]))
        tokenizer, max_seq = runtime.providers().embedding_tokenizer()
        target = Target(space, str(DOC_BASE - 1), "added.pdf", document_id=None)
        result = ingest_pdf(path, target=target, store=retriever, tokenizer=tokenizer,
                            max_seq_length=max_seq)  # fmt: skip
        t0 = time.perf_counter()
        incremental = retriever.search(QUERIES[0], scopes, k=10, method="lexical")
        first = (time.perf_counter() - t0) * 1000
        fresh = HybridRetriever(retriever.vectors, retriever.chunks, retriever.settings)
        t0 = time.perf_counter()
        rebuilt = fresh.search(QUERIES[0], scopes, k=10, method="lexical")
        full = (time.perf_counter() - t0) * 1000
        same = [h.key for h in incremental] == [h.key for h in rebuilt]
        print(f"after adding a {result.pages}-page PDF ({result.chunks} chunks): first search "
              f"{first:.0f} ms (target <= 300 ms) vs {full:.0f} ms with a full rebuild; "
              f"same top 10 as the rebuild: {same}")  # fmt: skip
        retriever.delete(target.space, target.source)
        t0 = time.perf_counter()
        incremental = retriever.search(QUERIES[0], scopes, k=10, method="lexical")
        first = (time.perf_counter() - t0) * 1000
        fresh = HybridRetriever(retriever.vectors, retriever.chunks, retriever.settings)
        rebuilt = fresh.search(QUERIES[0], scopes, k=10, method="lexical")
        same = [h.key for h in incremental] == [h.key for h in rebuilt]
        print(f"after deleting it: first search {first:.0f} ms; same top 10 as a rebuild: {same}")


def bench_retrieval(app, n_chunks, repeat, pages):
    from pybo.rag_chat import runtime

    owner = 424_242  # a user of its own, so earlier steps' chunks don't mix in
    space = f"u{owner}"
    with app.app_context():
        retriever = runtime.retriever()
        store = retriever.vectors
        dim = len(retriever.embeddings.embed_query("차원"))
        fill_store(store, space, n_chunks, dim)
        one = str(DOC_BASE + 7)
        scopes = (
            ("all of the user's documents", None),
            ("one document, Chroma filter", [one]),
            ("one document, exact by id", {one: 100}),
        )
        for label, scope in scopes:
            search_ms, embed_ms = [], []
            for i in range(repeat):
                t0 = time.perf_counter()
                vector = retriever.embeddings.embed_query(QUERIES[i % len(QUERIES)])
                t1 = time.perf_counter()
                hits = store.search_by_vector(vector, space, scope, k=4)
                search_ms.append((time.perf_counter() - t1) * 1000)
                embed_ms.append((t1 - t0) * 1000)
                assert len(hits) == 4
                assert scope is None or {key.split(":")[0] for key, _ in hits} == {one}
            s50, s95 = p50_p95(search_ms)
            total = [a + b for a, b in zip(search_ms, embed_ms, strict=True)]
            print(f"retrieval, {store.count(space):,} chunks, {label}: vector search "
                  f"p50 {s50:.1f} ms (p95 {s95:.1f}); + query embedding p50 "
                  f"{statistics.median(embed_ms):.1f} ms = p50 {statistics.median(total):.1f} ms "
                  "(target <= 30 ms)")  # fmt: skip
    fill_chunk_table(app, owner, space, n_chunks)
    bench_hybrid(app, space, n_chunks, repeat, pages)


def bench_first_token(app, repeat):
    from pybo.rag_chat import runtime
    from pybo.rag_chat.generation import LocalChatModel
    from tests.fixtures.pdfs import KOREAN_PAGES, pdf_bytes

    client = app.test_client()
    client.post("/auth/login/", data={"username": "bench", "password": PASSWORD})
    upload = {"file": (io.BytesIO(pdf_bytes(KOREAN_PAGES)), "a.pdf")}
    client.post("/chat/documents/upload", data=upload, content_type="multipart/form-data")
    with app.app_context():
        runtime.runner().wait()
    from langchain_huggingface import HuggingFaceEmbeddings

    original = LocalChatModel._stream
    original_embed = HuggingFaceEmbeddings.embed_query
    model_seconds, embed_seconds = [], []

    def timed_embed(self, text):
        start = time.perf_counter()
        vector = original_embed(self, text)
        embed_seconds.append(time.perf_counter() - start)
        return vector

    def timed(self, messages, *args, **kwargs):
        start = time.perf_counter()
        for number, chunk in enumerate(original(self, messages, *args, **kwargs)):
            if number == 0:
                model_seconds.append(time.perf_counter() - start)
            yield chunk

    LocalChatModel._stream = timed
    HuggingFaceEmbeddings.embed_query = timed_embed
    totals, overheads, app_only = [], [], []
    try:
        for i in range(repeat + 1):
            conversation = client.post("/chat/new").headers["Location"].split("c=")[1]
            model_seconds.clear()
            embed_seconds.clear()
            t0 = time.perf_counter()
            question = {"question": f"정기예금 금리는? ({i})"}
            response = client.post(f"/chat/{conversation}/ask", json=question, buffered=False)
            for piece in response.response:
                if b"event: token" in piece:
                    break
            total = time.perf_counter() - t0
            response.close()
            if i and model_seconds:  # the first request warms up
                totals.append(total * 1000)
                overheads.append((total - model_seconds[0]) * 1000)
                app_only.append((total - model_seconds[0] - sum(embed_seconds)) * 1000)
    finally:
        LocalChatModel._stream = original
        HuggingFaceEmbeddings.embed_query = original_embed
    o50, o95 = p50_p95(overheads)
    a50, a95 = p50_p95(app_only)
    print(f"first token: request -> first SSE token p50 {statistics.median(totals):.1f} ms; "
          f"minus the LLM's own time to first token: p50 {o50:.1f} ms (p95 {o95:.1f}) "
          f"(target <= 50 ms); minus the query embedding too: p50 {a50:.1f} ms "
          f"(p95 {a95:.1f})")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=["tiny", "real"], default="tiny")
    parser.add_argument("--embedding", help="a real embedder folder (overrides --shape)")
    parser.add_argument("--llm", help="a real LLM folder (overrides --shape)")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=60, help="pages of the ingestion PDF")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument(
        "--only", action="append", choices=["ingestion", "first-token", "retrieval"],
        help="run only this part (repeatable)",
    )  # fmt: skip
    parser.add_argument("--workdir", help="reuse models and the vector store between runs")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pybo-rag-bench-"))
    models = workdir / f"models-{args.shape}"
    if (models / "emb").exists() or (models / "emb-real").exists():
        embedding = str(models / ("emb" if args.shape == "tiny" else "emb-real"))
        llm = str(models / "llm")
    else:
        embedding, llm = build_models(args.shape, models)
    embedding, llm = args.embedding or embedding, args.llm or llm
    print(f"embedder: {embedding}\nllm: {llm}\nworkdir: {workdir}")
    app = make_app(workdir, embedding, llm, args.max_new_tokens)
    parts = args.only or ["ingestion", "first-token", "retrieval"]
    if "ingestion" in parts:
        bench_ingestion(app, args.pages)
    if "first-token" in parts:
        bench_first_token(app, min(args.repeat, 20))
    if "retrieval" in parts:
        bench_retrieval(app, args.chunks, args.repeat, args.pages)


if __name__ == "__main__":
    main()
