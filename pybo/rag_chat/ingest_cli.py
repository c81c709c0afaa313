"""`flask rag ingest PATH...`: many PDFs in one process, models loaded once.

A reader thread checks, extracts and chunks the next PDF (into a queue of at most
`QUEUE_SIZE`) while the main thread embeds the current one, so parsing hides behind
embedding. Each file becomes a `Document` row moved through the same lease as the
background job (`ingest_job.claim` / `write`), so the web pages show it as usual.
"""

import logging
import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from pybo.auth.service import find_user
from pybo.extensions import db
from pybo.incidents import report
from pybo.knowledge.pdf import IngestError
from pybo.knowledge.providers import ModelUnavailable
from pybo.models import User
from pybo.rag_chat import access, documents, ingest_job, runtime
from pybo.rag_chat.cli import rag_cli
from pybo.rag_chat.models import FAILED, PENDING, READY, Document

log = logging.getLogger(__name__)
QUEUE_SIZE = 4
_DONE = object()


@dataclass
class Summary:
    files: int = 0
    pages: int = 0
    chunks: int = 0
    skipped: list = field(default_factory=list)  # (name, why)
    failures: list = field(default_factory=list)  # (name, Korean reason)


@contextmanager
def quiet_model_loading():
    """No "Loading weights" bars or library warnings while the embedder loads."""
    loggers = [logging.getLogger(name) for name in
               ("transformers", "sentence_transformers", "huggingface_hub")]  # fmt: skip
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        disable_progress_bars()
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        hf_logging.enable_progress_bar()
        enable_progress_bars()


def pdf_files(paths):
    """Files as given, folders searched for *.pdf (sorted), each file once."""
    seen, found = set(), []
    for raw in paths:
        path = Path(raw)
        items = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
        for item in items if path.is_dir() else [path]:
            key = item.resolve()
            if key not in seen:
                seen.add(key)
                found.append(item)
    return found


def _owner(username, shared):
    if username:
        user = find_user(username)
        if user is None:
            raise click.ClickException(f"사용자가 없습니다: {username}")
        if shared and not user.is_admin:
            raise click.ClickException("공유 문서는 관리자만 올릴 수 있습니다.")
        return user
    if not shared:
        raise click.UsageError("--user NAME 또는 --shared 를 지정하세요.")
    admin = db.session.scalar(select(User).where(User.is_admin.is_(True)).order_by(User.id))
    if admin is None:
        raise click.ClickException(
            "관리자 계정이 없습니다: 먼저 `flask user create-admin NAME` 을 실행하세요."
        )
    return admin


def _register(user, files, shared, summary):
    """[(document_id, path, name)] to index; refusals and finished ones go to `summary`."""
    todo = []
    for path in files:
        try:
            with open(path, "rb") as stream:
                local = type("LocalFile", (), {"filename": path.name, "stream": stream})()
                document, created = documents.upload(user, local, shared=shared, queue=False)
        except documents.UploadError as exc:
            summary.failures.append((path.name, str(exc)))
            continue
        except OSError as exc:
            summary.failures.append((path.name, "파일을 읽을 수 없습니다."))
            log.info("cannot read %s: %s", path, exc)
            continue
        if not created and document.status == READY:
            summary.skipped.append((path.name, f"이미 색인된 문서입니다 (#{document.id})"))
            continue
        if document.status == FAILED:
            document.status, document.error = PENDING, None
            db.session.commit()
        todo.append((document.id, documents.blob_path(document.sha256), path.name))
    return todo


def _reader(todo, out, stop, parse):
    """Thread: parse each file in turn into `out` (bounded: it waits for the embedder)."""
    for document_id, blob, name in todo:
        if stop.is_set():
            break
        try:
            item = parse(blob)
        except IngestError as exc:
            item = exc
        except Exception as exc:  # noqa: BLE001 - handed to the main thread to report
            item = exc
        out.put((document_id, name, item))
    out.put(_DONE)


def _index_one(document_id, parsed, store, batch_size, bar):
    """Embed one parsed PDF under the document's lease. Returns the result or None."""
    from pybo.knowledge.ingest import store_parsed

    token = ingest_job.claim(document_id)
    if token is None:
        return None
    target = access.target_of(db.session.get(Document, document_id))
    progress = ingest_job.Progress(document_id, token)
    bar.reset(total=len(parsed.chunks))

    def on_progress(**values):
        progress(**values)
        if "chunks_done" in values:
            bar.n = values["chunks_done"]
            bar.refresh()

    try:
        result = store_parsed(parsed, target=target, store=store, batch_size=batch_size,
                              progress=on_progress)  # fmt: skip
        ingest_job.write(document_id, token, **ingest_job.ready_values(result))
    except ingest_job.Cancelled:
        return None
    except Exception as exc:
        db.session.rollback()
        message = report("처리 중 오류가 발생했습니다", exc, log, document=document_id)
        ingest_job.write_failure(document_id, message, token)
        raise IngestError(message) from exc
    return result


def run_batch(todo, summary, config, show):
    """Parse in a thread, embed here; fills `summary`."""
    from tqdm import tqdm

    from pybo.knowledge.ingest import parse_pdf

    with quiet_model_loading():
        tokenizer, max_seq = runtime.providers().embedding_tokenizer()
        store = runtime.retriever()
    ocr = runtime.ocr()

    def parse(blob):
        return parse_pdf(
            blob, tokenizer=tokenizer, max_seq_length=max_seq, max_pages=config["MAX_PDF_PAGES"],
            overlap=config["RAG_CHUNK_OVERLAP_TOKENS"], ocr=ocr, analyze=True,
        )  # fmt: skip

    parsed_queue, stop = queue.Queue(maxsize=QUEUE_SIZE), threading.Event()
    reader = threading.Thread(target=_reader, args=(todo, parsed_queue, stop, parse),
                              name="pdf-reader", daemon=True)  # fmt: skip
    reader.start()
    overall = tqdm(total=len(todo), desc="전체", unit="파일", position=0, disable=not show)
    current = tqdm(total=0, desc="청크", unit="청크", position=1, leave=False, disable=not show)
    try:
        while (item := parsed_queue.get()) is not _DONE:
            document_id, name, parsed = item
            current.set_description(name[:30])
            _one(document_id, name, parsed, store, config, current, summary)
            overall.update(1)
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            try:
                parsed_queue.get(timeout=0.1)
            except queue.Empty:
                pass
        current.close()
        overall.close()


def _one(document_id, name, parsed, store, config, bar, summary):
    if isinstance(parsed, IngestError):
        ingest_job.write_failure(document_id, str(parsed))
        summary.failures.append((name, str(parsed)))
        return
    if isinstance(parsed, Exception):
        message = report("처리 중 오류가 발생했습니다", parsed, log, document=document_id)
        ingest_job.write_failure(document_id, message)
        summary.failures.append((name, message))
        return
    try:
        result = _index_one(document_id, parsed, store, config["INGEST_BATCH_SIZE"], bar)
    except IngestError as exc:  # one bad file does not stop the batch
        summary.failures.append((name, str(exc)))
        return
    if result is None:
        summary.skipped.append((name, "다른 작업이 처리 중이거나 삭제된 문서입니다"))
        return
    summary.files += 1
    summary.pages += result.pages
    summary.chunks += result.chunks


def print_summary(summary, seconds):
    click.echo(
        f"\n색인 완료: 파일 {summary.files:,}개, 페이지 {summary.pages:,}쪽, "
        f"청크 {summary.chunks:,}개 ({seconds:.1f}초)"
    )
    for name, why in summary.skipped:
        click.echo(f"건너뜀: {name}: {why}")
    if summary.failures:
        click.echo(f"실패 {len(summary.failures)}개:")
        for name, why in summary.failures:
            click.echo(f"  {name}: {why}")


@rag_cli.command("ingest", help="PDF 파일과 폴더(안의 *.pdf)를 한 번에 색인합니다.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--user", "username", help="문서의 주인 (사용자 이름).")
@click.option("--shared", is_flag=True, help="공유 자료실에 올립니다 (관리자만).")
@click.option("--quiet", is_flag=True, help="진행 막대를 보이지 않습니다.")
def ingest(paths, username, shared, quiet):
    """Index PATHS (files and folders) for --user or the shared library, in one process."""
    started = time.perf_counter()
    user = _owner(username, shared)
    files = pdf_files(paths)
    if not files:
        raise click.ClickException("색인할 PDF 파일이 없습니다.")
    summary = Summary()
    todo = _register(user, files, shared, summary)
    if todo:
        try:
            run_batch(todo, summary, current_app.config, show=not quiet)
        except ModelUnavailable as exc:
            for document_id, _, _ in todo:
                ingest_job.write_failure(document_id, ingest_job.model_message(exc))
            raise click.ClickException(
                f"임베딩 모델이 없습니다 ({exc.reason}). `{exc.hint}` 를 실행한 뒤 다시 하세요."
            ) from exc
    print_summary(summary, time.perf_counter() - started)
    if summary.failures:
        raise click.exceptions.Exit(1)
