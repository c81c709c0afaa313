"""`flask rag ...`: ingest, ask, status (`flask rag eval` is in `eval_cli`)."""

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from pybo.auth.service import find_user
from pybo.extensions import db
from pybo.knowledge.hybrid import Scope
from pybo.knowledge.providers import ModelUnavailable
from pybo.rag_chat import access, chain, citations, documents, runtime
from pybo.rag_chat.models import STATUSES, Document

rag_cli = AppGroup("rag", help="Documents and questions for the RAG assistant.")


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
@click.option(
    "--user", "username", help="Search as this user: their documents and the shared library."
)
@click.option("--document", "document_id", type=int, help="Search only this document.")
@click.option("--board", is_flag=True, help="Search the board's questions and answers too.")
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
    llm_key = "LLM_BASE_URL" if config["LLM_BASE_URL"] else "LLM_MODEL"
    for kind, key in (("embedding", "EMBEDDING_MODEL"), ("llm", llm_key)):
        problem = problems[kind]
        click.echo(
            f"{kind:11s} {'OK' if problem is None else 'MISSING: ' + problem}  ({config[key]})"
        )
