"""`flask rag ...` (ingest, ask, status) and `flask models download`."""

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from pybo.auth.service import find_user
from pybo.extensions import db
from pybo.rag_chat import chain, documents, runtime
from pybo.rag_chat.models import STATUSES, Document
from pybo.rag_chat.providers import ModelUnavailable

rag_cli = AppGroup("rag", help="Documents and questions for the RAG assistant.")
models_cli = AppGroup("models", help="Model files under resources/models/.")


class _LocalFile:
    """Just enough of werkzeug's FileStorage for `documents.upload`."""

    def __init__(self, path):
        self.filename = Path(path).name
        self.stream = open(path, "rb")  # noqa: SIM115 - closed by the caller


def _user(name):
    user = find_user(name)
    if user is None:
        raise click.ClickException(f"사용자가 없습니다: {name}")
    return user


@rag_cli.command("ingest")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", required=True, help="Owner of the document.")
def ingest(path, username):
    """Upload and index PATH for --user, waiting until it is ready or failed."""
    user = _user(username)
    local = _LocalFile(path)
    try:
        document, created = documents.upload(user, local)
    except documents.UploadError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        local.stream.close()
    if not created:
        click.echo(f"이미 있는 문서입니다: #{document.id} ({document.status})")
        return
    runtime.runner().wait()
    document = db.session.get(Document, document.id, populate_existing=True)
    if document.status != "ready":
        raise click.ClickException(f"#{document.id} {document.status}: {document.error}")
    click.echo(
        f"#{document.id} {document.filename}: 페이지 {document.pages_total}, "
        f"청크 {document.chunks_total}개 색인 완료"
    )
    if document.warning:
        click.echo(document.warning)


@rag_cli.command("ask")
@click.argument("question")
@click.option("--user", "username", help="Search this user's documents.")
@click.option("--document", "document_id", type=int, help="Search only this document.")
def ask(question, username, document_id):
    """Answer QUESTION from the documents, streaming to the terminal, then the sources."""
    if document_id:
        document = db.get_or_404(Document, document_id)
        owner_id, scope = document.user_id, {document.id: document.chunks_total}
    elif username:
        owner_id, scope = _user(username).id, None
    else:
        raise click.UsageError("--user 또는 --document 를 지정하세요.")
    try:
        llm = runtime.chat_model()
        store = runtime.retriever()
    except ModelUnavailable as exc:
        raise click.ClickException(f"{exc.kind} 모델 없음: {exc.reason} ({exc.hint})") from exc
    k = current_app.config["RAG_TOP_K"]
    sources = []
    for event, data in chain.ask(question, [], lambda q: store.search(q, owner_id, scope, k), llm):
        if event == "token":
            sys.stdout.write(data["text"])
            sys.stdout.flush()
        elif event == "sources":
            sources = data["sources"]
    click.echo("\n\n출처:")
    for number, source in enumerate(sources, start=1):
        click.echo(f"[{number}] {source['filename']} {source['page']}쪽: {source['snippet'][:80]}")


@rag_cli.command("status")
def status():
    """Documents by state and whether each model is available."""
    counts = dict(
        db.session.execute(select(Document.status, func.count()).group_by(Document.status)).all()
    )
    for state in STATUSES:
        click.echo(f"{state:11s} {counts.get(state, 0)}")
    problems = runtime.providers().status()
    config = current_app.config
    for kind, key in (("embedding", "EMBEDDING_MODEL"), ("llm", "LLM_MODEL")):
        problem = problems[kind]
        click.echo(
            f"{kind:11s} {'OK' if problem is None else 'MISSING: ' + problem}  ({config[key]})"
        )


def hub_reachable(timeout=3.0):
    """True when the Hugging Face hub answers within `timeout` seconds."""
    import socket

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


@models_cli.command("download")
@click.option("--only", type=click.Choice(["embedding", "llm"]), help="Download one model.")
@click.option("--force", is_flag=True, help="Download even if the folder looks complete.")
@click.option("--soft", is_flag=True, help="Only warn when the hub is unreachable (run.sh).")
def download(only, force, soft):
    """Fetch ko-sroberta and Gemma-3n into resources/models/ (HF_TOKEN for Gemma)."""
    from huggingface_hub import snapshot_download

    config = current_app.config
    wanted = [
        ("embedding", config["EMBEDDING_HUB_ID"], config["EMBEDDING_MODEL"]),
        ("llm", config["LLM_HUB_ID"], config["LLM_MODEL"]),
    ]
    problems = runtime.providers().status()
    if not force and all(problems[kind] is None for kind, _, _ in wanted if kind == (only or kind)):
        click.echo("모델이 모두 준비되어 있습니다.")
        return
    if not hub_reachable():
        message = "Hugging Face hub에 연결할 수 없습니다 (네트워크 또는 HF_HUB_OFFLINE)."
        if soft:
            click.echo(f"{message} 모델 없이 시작합니다: 채팅은 모델을 받은 뒤 동작합니다.")
            return
        raise click.ClickException(message)
    for kind, repo_id, target in wanted:
        if only and kind != only:
            continue
        if not force and problems[kind] is None:
            click.echo(f"{kind}: 이미 있습니다 ({target})")
            continue
        click.echo(f"{kind}: {repo_id} -> {target}")
        try:
            snapshot_download(repo_id, local_dir=target, token=os.environ.get("HF_TOKEN"))
        except Exception as exc:  # noqa: BLE001 - gated repo, network, disk
            raise click.ClickException(
                f"{repo_id} 다운로드 실패: {exc}. Gemma는 동의가 필요한 모델입니다: "
                "huggingface.co에서 약관에 동의하고 HF_TOKEN 을 설정하세요."
            ) from exc
        runtime.providers().forget(kind)


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

    from pybo.rag_chat import evaluation, providers
    from pybo.rag_chat.hybrid import HybridRetriever, MemoryChunks

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
