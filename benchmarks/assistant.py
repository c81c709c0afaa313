"""The board's assistant, measured: similar-question quality, the AI-answer relevance
threshold, and similar-question latency at 100,000 questions.

    python benchmarks/assistant.py quality   [--embedding use-multilingual|DIR] [--limit N]
    python benchmarks/assistant.py threshold [--embedding ...]
    python benchmarks/assistant.py speed     [-n 100000] [--repeat 200]

quality: KorQuAD dev, one board question per paragraph (its first question as the
subject, the paragraph as the answer), queried with another question of the same
paragraph; recall@1/@5 of the right board question for hybrid, lexical-only and
dense-only ranking, through the same chunking, index and folding code as the app.

threshold: the paragraphs of half the articles are on the board; the questions of those
articles should get an AI answer (their passage is there), the questions of the other
half should not. For each relevance threshold: the share of answerable questions that
clear it (and whose best passage is the right one), and the share of unanswerable ones
it rejects. `AI_ANSWER_MIN_RELEVANCE` / `SIMILAR_MIN_RELEVANCE` come from this table.

speed: seeds N questions (benchmarks/board.py's generator) into SQLite, fills the board
index, then times `GET /question/similar/` through the real app (Flask test client), tiny
embedder by default (`--embedding DIR` for another; the query embedding's own cost is
printed). `--fill real` builds the index with `flask board reindex`'s code (time and peak
memory; embedder-bound: hours for 100,000 questions on 2 cores). `--fill synthetic` (the
default) writes the same chunks through the same stores the way benchmarks/rag.py fills
its 100,000 chunks: the app's own chunking of every question and its answers, Kiwi
morphemes analysed once per distinct word (the seed text is made of 60 words and 13
particles), and random unit vectors; only the query side, which is what is timed, runs
the embedder.
"""

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KORQUAD = ROOT.parent / "shared" / "data" / "korquad" / "KorQuAD_v1.0_dev.json"
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def korquad(path):
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    articles = []
    for article in data["data"]:
        paragraphs = [
            (p["context"], [qa["question"] for qa in p["qas"]]) for p in article["paragraphs"]
        ]
        articles.append(paragraphs)
    return articles


def embedder(name, tmp):
    from pybo.knowledge import providers
    from tests.fixtures.tiny_models import build_tiny_embedder

    if name == "tiny":
        return providers.load_embeddings(str(build_tiny_embedder(Path(tmp) / "tiny")))
    return providers.measurement_embeddings(name)


def tokenizer_for(embeddings, tmp):
    """Chunks are sized in the embedder's tokens; USE has no HF tokenizer, so the tiny
    WordPiece one (128 tokens) sizes its chunks."""
    client = getattr(embeddings, "_client", None)
    if client is not None:
        return client.tokenizer, int(client.max_seq_length)
    from transformers import AutoTokenizer

    from tests.fixtures.tiny_models import build_tiny_embedder

    return AutoTokenizer.from_pretrained(str(build_tiny_embedder(Path(tmp) / "tok"))), 128


def board_retriever(embeddings, tmp, name):
    from pybo.knowledge import providers
    from pybo.knowledge.hybrid import HybridRetriever, MemoryChunks, RetrievalSettings

    client = providers.chroma_client(providers.ModelSettings("", "", vector_dir=str(tmp)))
    store = providers.make_vector_store(client, embeddings, name)
    return HybridRetriever(store, MemoryChunks(), RetrievalSettings())


def index_board(retriever, questions, tokenizer, max_seq):
    """questions: [(question_id, subject, answer_text)] -> the board space, app chunking."""
    from pybo.assistant.board_index import SPACE, chunks_of
    from pybo.knowledge.hybrid import Target

    items = []
    for question_id, subject, answer in questions:
        question = SimpleNamespace(id=question_id, subject=subject, content="")
        answers = [SimpleNamespace(id=question_id * 10, content=answer, hidden=False,
                                   vote_count=0, user=SimpleNamespace(is_bot=False))]  # fmt: skip
        chunks = chunks_of(question, answers, tokenizer, max_seq, 24)
        items.append((Target(SPACE, f"q{question_id}", subject, question_id=question_id), chunks))
        if len(items) == 64:
            retriever.add_many(items)
            items = []
    if items:
        retriever.add_many(items)


def quality(args):
    from pybo.assistant.board_index import SPACE
    from pybo.assistant.similar import fold
    from pybo.knowledge.hybrid import Scope

    articles = korquad(args.korquad)
    pairs = [(ctx, qs) for article in articles for ctx, qs in article if len(qs) >= 2]
    if args.limit:
        pairs = pairs[: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        embeddings = embedder(args.embedding, tmp)
        tokenizer, max_seq = tokenizer_for(embeddings, tmp)
        retriever = board_retriever(embeddings, tmp, "quality")
        started = time.perf_counter()
        index_board(retriever, [(i, qs[0], ctx) for i, (ctx, qs) in enumerate(pairs)],
                    tokenizer, max_seq)  # fmt: skip
        print(f"indexed {len(pairs)} board questions in {time.perf_counter() - started:.1f} s")
        queries = [(i, q) for i, (_, qs) in enumerate(pairs) for q in qs[1:]]
        vectors = embeddings.embed_documents([q for _, q in queries])
        print(f"{len(queries)} queries (other questions of the same paragraph), "
              f"embedder {args.embedding}")  # fmt: skip
        print(f"{'mode':10s} {'R@1':>7s} {'R@5':>7s}")
        for mode in ("score", "lexical", "dense"):
            hits1 = hits5 = 0
            for (gold, query), vector in zip(queries, vectors, strict=True):
                hits = retriever.search(query, [Scope(SPACE)], k=20, method=mode, vector=vector)
                ranked = list(fold(hits, limit=5))
                hits1 += ranked[:1] == [gold]
                hits5 += gold in ranked
            name = {"score": "hybrid"}.get(mode, mode)
            print(f"{name:10s} {hits1 / len(queries):7.3f} {hits5 / len(queries):7.3f}")


def threshold(args):
    from pybo.assistant.board_index import SPACE
    from pybo.knowledge.hybrid import Scope

    articles = korquad(args.korquad)
    rng = random.Random(5)
    order = list(range(len(articles)))
    rng.shuffle(order)
    on_board = set(order[: len(order) // 2])
    board, answerable, unanswerable = [], [], []
    for a in order:
        for ctx, qs in articles[a]:
            if a in on_board:
                question_id = len(board)
                board.append((question_id, qs[0], ctx))
                answerable += [(question_id, q) for q in qs[1:]]
            else:
                unanswerable += [(None, q) for q in qs[1:]]
    unanswerable = unanswerable[: len(answerable)]
    with tempfile.TemporaryDirectory() as tmp:
        embeddings = embedder(args.embedding, tmp)
        tokenizer, max_seq = tokenizer_for(embeddings, tmp)
        retriever = board_retriever(embeddings, tmp, "threshold")
        index_board(retriever, board, tokenizer, max_seq)
        top = {}
        for label, queries in (("answerable", answerable), ("unanswerable", unanswerable)):
            vectors = embeddings.embed_documents([q for _, q in queries])
            top[label] = []
            for (gold, query), vector in zip(queries, vectors, strict=True):
                hits = retriever.search(query, [Scope(SPACE)], k=1, vector=vector)
                best = hits[0] if hits else None
                top[label].append((best.relevance if best else 0.0,
                                   best is not None and best.question_id == gold))  # fmt: skip
    print(
        f"board: {len(board)} Q&A from {len(on_board)} articles; "
        f"{len(answerable)} answerable and {len(unanswerable)} unanswerable questions"
    )
    for label, values in top.items():
        scores = sorted(score for score, _ in values)
        print(f"{label:12s} top-1 relevance p10/p50/p90: "
              f"{scores[len(scores) // 10]:.2f} / {statistics.median(scores):.2f} / "
              f"{scores[9 * len(scores) // 10]:.2f}")  # fmt: skip
    print(f"{'threshold':>9s} {'answered':>9s} {'…right':>7s} {'rejected':>9s}")
    for t in THRESHOLDS:
        kept = [right for score, right in top["answerable"] if score >= t]
        rejected = sum(score < t for score, _ in top["unanswerable"]) / len(top["unanswerable"])
        right = sum(kept) / len(kept) if kept else 0.0
        print(f"{t:9.2f} {len(kept) / len(top['answerable']):9.3f} {right:7.3f} {rejected:9.3f}")


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speed(args):
    from benchmarks.board import seed
    from pybo import create_app
    from pybo.assistant import board_index
    from tests.conftest import make_test_config
    from tests.fixtures.tiny_models import build_tiny_embedder

    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.workdir or scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        built = Path(tmp) / f"built-{args.n}-{args.fill}"  # a finished earlier run: time only
        model = args.embedding if args.embedding != "tiny" else str(
            build_tiny_embedder(Path(tmp) / "tiny"))  # fmt: skip
        config = make_test_config(
            Path(tmp), SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/board.db", EMBEDDING_MODEL=model,
            BOARD_AI_ANSWERS="off",
        )  # fmt: skip
        app = create_app(config)
        if built.exists():
            print(f"reusing {args.n:,} seeded and indexed questions in {tmp}")
            return time_similar(app, args, int(built.read_text()))
        started = time.perf_counter()
        seed(app, args.n, rng)
        print(f"seeded {args.n:,} questions in {time.perf_counter() - started:.0f} s")
        with app.app_context():
            from pybo.extensions import db
            from pybo.question import search

            with db.engine.begin() as connection:
                search.ensure_index(connection)
            before = peak_rss_mb()
            client = app.test_client()
            checkpoints = sorted(c for c in args.checkpoints if c < args.n)
            state = {"done": 0}

            def step(count):
                bar.update(count)
                state["done"] += count
                if checkpoints and state["done"] >= checkpoints[0]:
                    while checkpoints and state["done"] >= checkpoints[0]:
                        checkpoints.pop(0)
                    similar_latency(client, state["done"], args.repeat, bar.write)

            started = time.perf_counter()
            from tqdm import tqdm

            with tqdm(total=args.n, desc="board index", unit="q", mininterval=30) as bar:
                if args.fill == "real":
                    done = board_index.rebuild(progress=step)
                else:
                    done = fill_synthetic(step)
            took = time.perf_counter() - started
            print(
                f"board index {'rebuilt' if args.fill == 'real' else 'filled (synthetic)'}: "
                f"{done:,} questions in {took:.0f} s "
                f"({done / took:.0f}/s, similar-question checks included), "
                f"peak RSS {before:.0f} -> {peak_rss_mb():.0f} MB"
            )
        if args.workdir:
            built.write_text(str(done))
        time_similar(app, args, done)


def time_similar(app, args, done):
    """Similar questions through the app, then the query embedding alone."""
    from pybo.rag_chat import runtime

    with app.app_context():
        client = app.test_client()
        retriever = runtime.retriever()
        print(f"the board index: {len(retriever.space_index('board').rows):,} chunks")
        similar_latency(client, done, args.repeat, print)
        embed = []
        for _ in range(50):
            t = time.perf_counter()
            retriever.embeddings.embed_query("비슷한 질문 찾기 은행 금리")
            embed.append((time.perf_counter() - t) * 1000)
    print(f"  of which the query embedding: p50 {statistics.median(embed):.1f} ms "
          f"({args.embedding}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')})")


def fill_synthetic(progress, batch_questions=500):
    """The board index of every seeded question, written through the app's stores with
    the app's chunks; morphemes cached per word and random vectors (see the docstring)."""
    import numpy as np
    from flask import current_app
    from sqlalchemy import select

    from pybo.assistant import board_index
    from pybo.extensions import db
    from pybo.knowledge import lexical
    from pybo.models import Question
    from pybo.rag_chat import runtime

    retriever = runtime.retriever()
    tokenizer, max_seq = runtime.providers().embedding_tokenizer()
    overlap = current_app.config["RAG_CHUNK_OVERLAP_TOKENS"]
    dim = len(retriever.embeddings.embed_query("차원"))
    rng = np.random.default_rng(0)
    morphemes = {}

    def tokens_of(text):
        words = text.split()
        missing = sorted({w for w in words if w not in morphemes})
        for word, tokens in zip(missing, lexical.analyze_many(missing), strict=True):
            morphemes[word] = tokens
        return [token for word in words for token in morphemes[word]]

    retriever.clear(board_index.SPACE)
    done, last = 0, 0
    while True:
        questions = list(db.session.scalars(
            select(Question).where(Question.id > last).order_by(Question.id).limit(batch_questions)
        ))  # fmt: skip
        if not questions:
            return done
        answers = board_index.answers_of([q.id for q in questions])
        rows, writes = [], []
        for question in questions:
            target = board_index.target_of(question)
            chunks = board_index.chunks_of(
                question, answers.get(question.id, []), tokenizer, max_seq, overlap
            )
            vectors = rng.standard_normal((len(chunks), dim)).astype("float32")
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            rows.append((target, chunks, [tokens_of(chunk.text) for chunk in chunks]))
            metadata = {"question_id": question.id}
            writes.append((target.source, chunks, vectors.tolist(), metadata))
        retriever.chunks.add_many(rows)
        retriever.vectors.add_many(board_index.SPACE, writes)
        last = questions[-1].id
        done += len(questions)
        db.session.expunge_all()
        progress(len(questions))


WORDS = ["은행 금리 질문", "파이썬 배포 오류", "아파트 전세 계약 방법", "플라스크 설치",
         "주식 펀드 세금", "데이터베이스 서버 설정 문제"]  # fmt: skip


def similar_latency(client, indexed, repeat, say):
    """`GET /question/similar/` through the app, `repeat` times, with `indexed` questions in
    the board index."""
    times = []
    for i in range(repeat):
        t = time.perf_counter()
        response = client.get("/question/similar/", query_string={"subject": WORDS[i % 6]})
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    say(
        f"GET /question/similar/ with {indexed:,} questions indexed: "
        f"p50 {statistics.median(times):.1f} ms, p95 {times[int(0.95 * len(times))]:.1f} ms "
        f"({repeat} requests, load {os.getloadavg()[0]:.1f})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=("quality", "threshold", "speed"))
    parser.add_argument("--korquad", default=str(KORQUAD))
    parser.add_argument("--embedding", default=None)
    parser.add_argument("--limit", type=int)
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--workdir", help="speed: keep the database and index here; a "
                        "second run with the same -n only times the requests")  # fmt: skip
    parser.add_argument(
        "--fill", choices=("synthetic", "real"), default="synthetic",
        help="speed: how the board index is built (see the module docstring)",
    )  # fmt: skip
    parser.add_argument(
        "--checkpoints",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default="10000,25000,50000",
        help="also time similar questions when this many questions are indexed (comma list)",
    )
    args = parser.parse_args()
    if args.embedding is None:
        args.embedding = "tiny" if args.part == "speed" else "use-multilingual"
    {"quality": quality, "threshold": threshold, "speed": speed}[args.part](args)


if __name__ == "__main__":
    main()
