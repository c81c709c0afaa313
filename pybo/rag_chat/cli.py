"""`flask rag ...`: ask, status (`ingest` is in `ingest_cli`, `eval` in `eval_cli`)."""

import sys
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, select

from pybo.auth.service import find_user
from pybo.common.cli import KoreanGroup
from pybo.extensions import db
from pybo.knowledge.hybrid import Scope
from pybo.knowledge.providers import ModelUnavailable
from pybo.rag_chat import access, chain, citations, runtime
from pybo.rag_chat.models import STATUS_LABELS, STATUSES, Document

rag_cli = KoreanGroup("rag", help="AI 도우미의 문서를 색인하고 질문합니다.")


def _user(name):
    user = find_user(name)
    if user is None:
        raise click.ClickException(f"사용자가 없습니다: {name}")
    return user


@rag_cli.command("ask", help="문서에서 QUESTION의 답을 찾아 보여 주고 출처를 답니다.")
@click.argument("question")
@click.option("--user", "username", help="이 사용자로 검색합니다: 그의 문서와 공유 자료실.")
@click.option("--document", "document_id", type=int, help="이 문서에서만 검색합니다.")
@click.option("--board", is_flag=True, help="게시판의 질문과 답변도 검색합니다.")
def ask(question, username, document_id, board):
    """Answer QUESTION from the documents, streaming to the terminal, then the sources."""
    scopes = []
    if document_id:
        document = db.session.get(Document, document_id)
        if document is None:
            raise click.ClickException(f"문서가 없습니다: #{document_id}")
        scopes.append(Scope(access.space_of(document), {str(document.id): document.chunks_total}))
    elif username:
        scopes += [Scope(access.private_space(_user(username).id)), Scope(access.SHARED)]
    if board:
        scopes.append(Scope(access.BOARD))
    if not scopes:
        raise click.UsageError("--user, --document 또는 --board 를 지정하세요.")
    try:
        llm = runtime.chat_model()
        store = runtime.retriever()
    except ModelUnavailable as exc:
        raise click.ClickException(f"{exc.kind} 모델 없음: {exc.reason} ({exc.hint})") from exc
    k = current_app.config["RAG_TOP_K"]
    sources = []
    for event, data in chain.ask(question, [], lambda q: store.search(q, scopes, k), llm):
        if event == "token":
            sys.stdout.write(data["text"])
            sys.stdout.flush()
        elif event == "sources":
            sources = citations.with_links(data["sources"])
    click.echo("\n\n출처:")
    for number, source in enumerate(sources, start=1):
        where = f"{source['page']}쪽" if source["kind"] == "pdf" else source["url"]
        click.echo(f"[{number}] {source['title']} {where}: {source['snippet'][:80]}")


@rag_cli.command("status", help="상태별 문서 수와 모델 준비 상태를 보여 줍니다.")
def status():
    """Documents by state and whether each model is available."""
    counts = dict(
        db.session.execute(select(Document.status, func.count()).group_by(Document.status)).all()
    )
    click.echo("문서")
    for state in STATUSES:
        click.echo(f"  {STATUS_LABELS[state]}: {counts.get(state, 0):,}개")
    problems = runtime.providers().status()
    config = current_app.config
    llm_key = "LLM_BASE_URL" if config["LLM_BASE_URL"] else "LLM_MODEL"
    click.echo("모델")
    for kind, label, key in (("embedding", "임베딩", "EMBEDDING_MODEL"),
                             ("llm", "언어 모델", llm_key)):  # fmt: skip
        problem = problems[kind]
        state = "준비됨" if problem is None else f"없음 ({problem})"
        where = config[key] if key == "LLM_BASE_URL" else Path(config[key]).name
        click.echo(f"  {label}: {state}  [{where}]")
    click.echo(f"  임베딩 엔진: {_embedding_engine(config)}")
    ocr = runtime.ocr().problem()
    click.echo(f"OCR: {'사용 가능' if ocr is None else '사용 불가 (' + ocr + ')'}")


def _embedding_engine(config):
    """EMBEDDING_BACKEND and whether the int8 export is there (no model is loaded)."""
    from pybo.knowledge.onnx_module import has_export

    backend = config["EMBEDDING_BACKEND"]
    exported = has_export(config["EMBEDDING_MODEL"], "onnx-int8")
    if backend == "auto":
        if exported:
            return "auto (CPU에서 int8 ONNX, GPU에서 torch)"
        return "auto (torch; `flask models optimize` 로 더 빠른 int8 ONNX를 만드세요)"
    return backend
