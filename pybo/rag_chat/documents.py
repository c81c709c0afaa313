"""Document rules: upload (content-addressed, deduplicated), delete, re-index.

The ingestion job itself is `ingest_job.process`."""

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from pybo.extensions import db
from pybo.rag_chat import runtime
from pybo.rag_chat.models import PENDING, READY, Document
from pybo.rag_chat.pdf import looks_like_pdf
from pybo.rag_chat.providers import ModelUnavailable

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


def upload(user, file_storage):
    """Store a PDF and queue it. Returns (document, created); the same file twice by the
    same user returns the existing document."""
    if file_storage is None or not file_storage.filename:
        raise UploadError("파일을 선택해 주세요.")
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
    )
    db.session.add(document)
    db.session.commit()
    runtime.runner().submit(document.id)
    return document, True


def visible_documents(user):
    query = select(Document).order_by(Document.id.desc())
    if not user.is_admin:
        query = query.where(Document.user_id == user.id)
    return list(db.session.scalars(query))


def own_ready_ids(user, ids):
    """The subset of `ids` that are `user`'s own ready documents (foreign ids drop out)."""
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Document.id).where(
                Document.id.in_(ids), Document.user_id == user.id, Document.status == READY
            )
        )
    )


def remove_chunks(document_id, owner_id):
    """Remove a document's chunks from both indexes."""
    try:
        runtime.retriever().delete_document(document_id, owner_id)
    except ModelUnavailable:
        from pybo.rag_chat.chunks import SqlChunks

        SqlChunks().delete(document_id, owner_id)
        # No embedder: the store cannot be opened through LangChain; use the raw client.
        client = runtime.providers().chroma()
        name = f"{current_app.config['CHROMA_COLLECTION']}_u{int(owner_id)}"
        if name in [c.name for c in client.list_collections()]:
            client.get_collection(name).delete(where={"document_id": int(document_id)})


def delete(document):
    """Remove the row, its vectors and its file (when no other document uses it)."""
    document_id, owner_id, sha256 = document.id, document.user_id, document.sha256
    db.session.delete(document)
    db.session.commit()
    remove_chunks(document_id, owner_id)
    others = db.session.scalar(select(func.count(Document.id)).where(Document.sha256 == sha256))
    if not others:
        blob_path(sha256).unlink(missing_ok=True)


def reindex(document):
    """Queue a rebuild of the document's vectors."""
    document.status, document.error, document.warning = PENDING, None, None
    document.pages_done = document.chunks_done = 0
    db.session.commit()
    runtime.runner().submit(document.id)
