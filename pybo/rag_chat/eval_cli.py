"""`flask rag eval`: retrieval quality on a dataset, through the real indexing code."""

from pathlib import Path

import click
from flask import current_app

from pybo.knowledge.providers import ModelUnavailable
from pybo.rag_chat import runtime
from pybo.rag_chat.cli import rag_cli

MODES = ("lexical", "dense", "hybrid", "rrf", "rerank")


class NoVectors:
    """The vector side for lexical-only runs: nothing is embedded or stored."""

    embeddings = None

    def add(self, *args, **kwargs):
        return None


def _embedder_tokenizer(embeddings):
    client = getattr(embeddings, "_client", None)  # a SentenceTransformer inside
    if client is None or getattr(client, "tokenizer", None) is None:
        return None
    return client.tokenizer, int(client.max_seq_length)


def choose_models(chosen, embedding, wanted, config):
    """(vectors model or None, tokenizer, max_seq, tokenizer name, reranker).

    Lexical-only runs load no embedder; `--embedding X` needs only X. Chunks are cut
    with X's tokenizer, else the app's embedder's when it is installed, else an
    approximation (recorded in the JSON)."""
    from pybo.knowledge import providers
    from pybo.knowledge.chunking import ApproxTokenizer

    dense = any(mode != "lexical" for mode in wanted)
    vectors_model = None
    if dense:
        vectors_model = (
            providers.measurement_embeddings(embedding, chosen.device) if embedding
            else chosen.embeddings()
        )  # fmt: skip
    found = _embedder_tokenizer(vectors_model) if vectors_model is not None else None
    name = (embedding or config["EMBEDDING_MODEL"]) if found else None
    if found is None and providers.model_problem(config["EMBEDDING_MODEL"]) is None:
        found, name = chosen.embedding_tokenizer(), config["EMBEDDING_MODEL"]
    if found is None:
        approx = ApproxTokenizer()
        found, name = (approx, 128), approx.name
    reranker = chosen.reranker() if "rerank" in wanted else None
    return vectors_model, found[0], found[1], name, reranker


@rag_cli.command(
    "eval", help="데이터셋(SQuAD/KorQuAD JSON, AutoRAG parquet)으로 검색 품질을 잽니다."
)
@click.argument("dataset", type=click.Path(exists=True))
@click.option("--out", "out_dir", type=click.Path(), help="JSON과 PNG를 쓸 폴더.")
@click.option(
    "--modes",
    default="lexical,dense,hybrid",
    show_default=True,
    help=f"쉼표로 구분: {', '.join(MODES)} (rerank에는 RERANKER_MODEL 필요).",
)
@click.option(
    "--embedding",
    help="벡터를 만들 임베딩 모델: 폴더, 허브 id 또는 use-multilingual (기본값: EMBEDDING_MODEL).",
)
@click.option("--limit", type=int, help="앞의 N개 질문만 평가합니다.")
def evaluate(dataset, out_dir, modes, embedding, limit):  # fmt: skip
    """Measure retrieval on DATASET (SQuAD/KorQuAD JSON or AutoRAG parquet)."""
    import tempfile

    from tqdm import tqdm

    from pybo.knowledge import evaluation, providers
    from pybo.knowledge.hybrid import HybridRetriever, MemoryChunks

    wanted = [m.strip() for m in modes.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in MODES]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} (가능한 값: {', '.join(MODES)})")
    try:
        data = evaluation.load_dataset(dataset)
    except (ValueError, KeyError, OSError) as exc:
        raise click.ClickException(f"데이터셋을 읽을 수 없습니다: {exc}") from exc
    if limit:
        data.queries, data.gold = data.queries[:limit], data.gold[:limit]
    config = current_app.config
    settings = runtime.retrieval_settings(config)
    try:
        vectors_model, tokenizer, max_seq, tokenizer_name, reranker = choose_models(
            runtime.providers(), embedding, wanted, config
        )
    except ModelUnavailable as exc:
        raise click.ClickException(f"{exc.kind} 모델 없음: {exc.reason}") from exc
    if "rerank" in wanted and reranker is None:
        raise click.ClickException("rerank 모드에는 RERANKER_MODEL 설정이 필요합니다.")
    overlap = config["RAG_CHUNK_OVERLAP_TOKENS"]
    with tempfile.TemporaryDirectory(prefix="pybo-eval-") as tmp:
        store = NoVectors()
        if vectors_model is not None:
            client = providers.chroma_client(providers.ModelSettings("", "", vector_dir=tmp))
            store = providers.make_vector_store(client, vectors_model, "eval")
        retriever = HybridRetriever(store, MemoryChunks(), settings, reranker=reranker)
        chunks = evaluation.corpus_chunks(data, tokenizer, max_seq, overlap)
        with tqdm(desc="색인", unit="청크", total=len(chunks)) as bar:
            evaluation.write_chunks(data, retriever, chunks, progress=bar.update)
        query_vectors = None
        if vectors_model is not None:
            query_vectors = []
            with tqdm(desc="질문 임베딩", unit="질문", total=len(data.queries)) as bar:
                for start in range(0, len(data.queries), 256):
                    part = data.queries[start : start + 256]
                    query_vectors += vectors_model.embed_documents(part)
                    bar.update(len(part))
        results = _search_modes(data, retriever, wanted, query_vectors, reranker)
    meta = {
        "dataset": data.name, "queries": len(data.queries), "passages": len(data.passages),
        "chunks": len(chunks),
        "embedding": None if vectors_model is None else embedding or config["EMBEDDING_MODEL"],
        "tokenizer": tokenizer_name,
        "chunking": {"max_tokens": max_seq - 2, "max_seq_length": max_seq, "overlap": overlap},
        "fusion": settings.fusion.__dict__, "bm25": {"k1": settings.k1, "b": settings.b},
    }  # fmt: skip
    out = Path(out_dir or Path(current_app.instance_path) / "eval" / Path(data.name).stem)
    json_path, png_path = evaluation.write_report(results, meta, out)
    _print_table(data, len(chunks), results, json_path, png_path)


def _search_modes(data, retriever, wanted, query_vectors, reranker):
    from tqdm import tqdm

    from pybo.knowledge import evaluation

    method = {"hybrid": None, "rrf": "rrf", "rerank": None}
    results = {}
    with tqdm(desc="검색", unit="질문", total=len(data.queries) * len(wanted)) as bar:
        for mode in wanted:
            if mode in ("lexical", "dense"):
                run = evaluation.evaluate(data, retriever, [mode], query_vectors, bar.update)
                results[mode] = run[mode]
                continue
            retriever.reranker = reranker if mode == "rerank" else None
            run = evaluation.evaluate(data, retriever, [method[mode]], query_vectors, bar.update)
            results[mode] = run[method[mode]]
    return results


def _print_table(data, chunks, results, json_path, png_path):
    metrics = list(next(iter(results.values())).keys())
    click.echo(
        f"\n{data.name}: 질문 {len(data.queries):,}, 문단 {len(data.passages):,}, 청크 {chunks:,}"
    )
    click.echo(f"{'mode':10s}" + "".join(f"{m:>11s}" for m in metrics))
    for mode, values in results.items():
        click.echo(f"{mode:10s}" + "".join(f"{values[m]:11.3f}" for m in metrics))
    click.echo(f"\n{json_path}\n{png_path}")
