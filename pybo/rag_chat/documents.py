"""Document rules: upload (content-addressed, deduplicated), delete, re-index.

The ingestion job itself is `ingest_job.process`."""

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from pybo.common import audit
from pybo.extensions import db
from pybo.knowledge.pdf import looks_like_pdf
from pybo.knowledge.providers import ModelUnavailable
from pybo.knowledge.store import delete_filter
from pybo.rag_chat import access, runtime
from pybo.rag_chat.models import PENDING, Document

log = logging.getLogger(__name__)
MAX_FILENAME = 200


class UploadError(ValueError):
    """The upload was refused; the message is for the user."""


def upload_dir():
    return Path(current_app.config["UPLOAD_DIR"])


def blob_path(sha256):
    return upload_dir() / sha256[:2] / f"{sha256}.pdf"


def _clean_name(name):
    name = os.path.basename((name or "").replace("\\", "/")).strip() or "document.pdf"
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:MAX_FILENAME]


def _store_blob(stream, max_bytes):
    """Copy the upload to a temp file while hashing; refuse it past `max_bytes`."""
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    handle = tempfile.NamedTemporaryFile(dir=directory, suffix=".part", delete=False)
    try:
        with handle:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(f"파일이 너무 큽니다 (최대 {max_bytes // (1024 * 1024)}MB).")
                if len(head) < 1024:
                    head += chunk[: 1024 - len(head)]
                digest.update(chunk)
                handle.write(chunk)
        if size == 0:
            raise UploadError("빈 파일입니다.")
        if not looks_like_pdf(head):
            raise UploadError("PDF 파일만 올릴 수 있습니다 (파일 내용이 PDF가 아닙니다).")
        sha256 = digest.hexdigest()
        final = blob_path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(handle.name, final)  # same content, same name: idempotent
        return sha256, size
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)


def display_name(file_storage):
    """The uploaded file's cleaned name, for messages ('' when there is no file)."""
    if file_storage is None or not file_storage.filename:
        return ""
    return _clean_name(file_storage.filename)


def upload(user, file_storage, shared=False, queue=True):
    """Store a PDF and queue it. Returns (document, created); the same file twice by the
    same user returns the existing document. `shared` (admins only) puts it in the
    shared library. `queue=False`: the caller indexes it itself (`flask rag ingest`)."""
    if file_storage is None or not file_storage.filename:
        raise UploadError("파일을 선택해 주세요.")
    problem = runtime.providers().embedding_problem()
    if problem:  # refused at once: nothing is stored that could only fail later
        raise UploadError(f"임베딩 모델이 준비되지 않아 지금은 문서를 올릴 수 없습니다: {problem}")
    max_bytes = current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    sha256, size = _store_blob(file_storage.stream, max_bytes)
    existing = db.session.scalar(
        select(Document).where(Document.user_id == user.id, Document.sha256 == sha256)
    )
    if existing is not None:
        return existing, False
    document = Document(
        user_id=user.id,
        filename=_clean_name(file_storage.filename),
        sha256=sha256,
        size=size,
        status=PENDING,
        shared=bool(shared and user.is_admin),
    )
    db.session.add(document)
    db.session.commit()
    if queue:
        submit_ingest(document.id)
    return document, True


def submit_ingest(document_id):
    from pybo.rag_chat.ingest_job import KIND

    runtime.runner().submit(KIND, document_id)


def readable_documents(user):
    """What `user` may list: their own documents and the shared library, newest first."""
    return list(db.session.scalars(access.readable_query(user).order_by(Document.id.desc())))


def moderation_rows():
    """For admins: every private document's metadata (no name, no content), with its owner."""
    query = select(Document).where(Document.shared.is_(False)).order_by(Document.id.desc())
    return list(db.session.scalars(query))


def _delete_vectors_raw(space, source):
    """Without an embedder the store cannot be opened through LangChain: use the client."""
    client = runtime.providers().chroma()
    name = f"{current_app.config['CHROMA_COLLECTION']}_{space}"
    if name in [c.name for c in client.list_collections()]:
        client.get_collection(name).delete(where=delete_filter(source))


def remove_chunks(space, source):
    """Remove a source's chunks from both indexes."""
    from pybo.rag_chat.chunks import SqlChunks

    try:
        retriever = runtime.retriever()
    except ModelUnavailable:
        SqlChunks().delete(space, source)
        _delete_vectors_raw(space, source)
        return
    retriever.delete(space, source)


def delete(actor, document):
    """Remove the row, its chunks and its file (when no other document uses it). An admin
    deleting someone else's document is audited."""
    space, source, sha256 = access.space_of(document), str(document.id), document.sha256
    if document.user_id != actor.id:
        audit.record(actor, "document.delete", f"document #{document.id}",
                     f"owner #{document.user_id}, {document.size} bytes, "
                     f"{'shared' if document.shared else 'private'}")  # fmt: skip
    db.session.delete(document)
    db.session.commit()
    remove_chunks(space, source)
    others = db.session.scalar(select(func.count(Document.id)).where(Document.sha256 == sha256))
    if not others:
        blob_path(sha256).unlink(missing_ok=True)


def set_shared(document, shared):
    """Move a ready document into the shared library or back to its owner's documents:
    its chunks change space (rows and vectors), nothing is embedded again."""
    if document.shared == shared:
        return
    old_space = access.space_of(document)
    document.shared = shared
    db.session.commit()
    new_space = access.space_of(document)
    runtime.retriever().move(str(document.id), old_space, new_space)


def reindex(document):
    """Queue a rebuild of the document's chunks."""
    document.status, document.error, document.warning = PENDING, None, None
    document.pages_done = document.chunks_done = 0
    db.session.commit()
    submit_ingest(document.id)
