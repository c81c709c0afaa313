"""`flask rag eval`: retrieval quality on a dataset, through the real indexing code."""

from pathlib import Path

import click
from flask import current_app

from pybo.knowledge.providers import ModelUnavailable
from pybo.rag_chat import runtime
from pybo.rag_chat.cli import rag_cli

MODES = ("lexical", "dense", "hybrid", "rrf", "rerank")


@rag_cli.command("eval")
@click.argument("dataset", type=click.Path(exists=True))
@click.option("--out", "out_dir", type=click.Path(), help="Folder for the JSON and PNG.")
@click.option(
    "--modes",
    default="lexical,dense,hybrid",
    show_default=True,
    help=f"Comma-separated, of {', '.join(MODES)} (rerank needs RERANKER_MODEL).",
)
@click.option(
    "--embedding",
    help="Embedder for the vectors: a folder, a hub id or "
    "use-multilingual (default: EMBEDDING_MODEL).",
)
@click.option("--limit", type=int, help="Evaluate only the first N queries.")
def evaluate(dataset, out_dir, modes, embedding, limit):  # fmt: skip
    """Measure retrieval on DATASET (SQuAD/KorQuAD JSON or AutoRAG parquet)."""
    import tempfile

    from tqdm import tqdm

    from pybo.knowledge import evaluation, providers
    from pybo.knowledge.hybrid import HybridRetriever, MemoryChunks

    wanted = [m.strip() for m in modes.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in MODES]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} (choose from {', '.join(MODES)})")
    try:
        data = evaluation.load_dataset(dataset)
    except (ValueError, KeyError, OSError) as exc:
        raise click.ClickException(f"데이터셋을 읽을 수 없습니다: {exc}") from exc
    if limit:
        data.queries, data.gold = data.queries[:limit], data.gold[:limit]
    chosen = runtime.providers()
    settings = runtime.retrieval_settings(current_app.config)
    try:
        tokenizer, max_seq = chosen.embedding_tokenizer()
        vectors_model = (
            providers.measurement_embeddings(embedding, chosen.device) if embedding
            else chosen.embeddings()
        )  # fmt: skip
        reranker = chosen.reranker() if "rerank" in wanted else None
    except ModelUnavailable as exc:
        raise click.ClickException(f"{exc.kind} 모델 없음: {exc.reason}") from exc
    if "rerank" in wanted and reranker is None:
        raise click.ClickException("rerank 모드에는 RERANKER_MODEL 설정이 필요합니다.")
    with tempfile.TemporaryDirectory(prefix="pybo-eval-") as tmp:
        client = providers.chroma_client(providers.ModelSettings("", "", vector_dir=tmp))
        store = providers.make_vector_store(client, vectors_model, "eval")
        retriever = HybridRetriever(store, MemoryChunks(), settings, reranker=reranker)
        with tqdm(desc="색인", unit="passage", total=len(data.passages)) as bar:
            chunks = evaluation.index_corpus(data, retriever, tokenizer, max_seq)
            bar.update(len(data.passages))
        with tqdm(desc="질문 임베딩", total=len(data.queries)) as bar:
            query_vectors = []
            for start in range(0, len(data.queries), 256):
                query_vectors += vectors_model.embed_documents(data.queries[start : start + 256])
                bar.update(min(256, len(data.queries) - start))
        method = {"hybrid": None, "rrf": "rrf", "rerank": None}
        results = {}
        with tqdm(desc="검색", total=len(data.queries) * len(wanted)) as bar:
            for mode in wanted:
                if mode in ("lexical", "dense"):
                    run = evaluation.evaluate(data, retriever, [mode], query_vectors, bar.update)
                    results[mode] = run[mode]
                    continue
                retriever.reranker = reranker if mode == "rerank" else None
                run = evaluation.evaluate(
                    data, retriever, [method[mode]], query_vectors, bar.update
                )
                results[mode] = run[method[mode]]
    meta = {
        "dataset": data.name, "queries": len(data.queries), "passages": len(data.passages),
        "chunks": chunks, "embedding": embedding or current_app.config["EMBEDDING_MODEL"],
        "fusion": settings.fusion.__dict__, "bm25": {"k1": settings.k1, "b": settings.b},
    }  # fmt: skip
    out = Path(out_dir or Path(current_app.instance_path) / "eval" / Path(data.name).stem)
    json_path, png_path = evaluation.write_report(results, meta, out)
    metrics = list(next(iter(results.values())).keys())
    click.echo(
        f"\n{data.name}: 질문 {len(data.queries):,}, 문단 {len(data.passages):,}, 청크 {chunks:,}"
    )
    click.echo(f"{'mode':10s}" + "".join(f"{m:>11s}" for m in metrics))
    for mode, values in results.items():
        click.echo(f"{mode:10s}" + "".join(f"{values[m]:11.3f}" for m in metrics))
    click.echo(f"\n{json_path}\n{png_path}")
