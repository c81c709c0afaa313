"""Ingestion pipeline: PDF -> pages -> token-sized chunks -> vectors, with progress.

Pure: the caller passes the embedder tokenizer, the vector store and a `progress`
callback (which may raise to cancel, e.g. when the document was deleted meanwhile).
"""

import logging
import time
from dataclasses import dataclass, field

from pybo.knowledge.chunking import split_pages
from pybo.knowledge.pdf import IngestError, extract_pages, open_pdf

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    pages: int
    chunks: int
    garbage_pages: list = field(default_factory=list)
    ocr_pages: list = field(default_factory=list)
    extract_seconds: float = 0.0
    embed_seconds: float = 0.0


def ingest_pdf(
    path,
    *,
    target,
    store,
    tokenizer,
    max_seq_length,
    max_pages=500,
    overlap=24,
    batch_size=64,
    progress=None,
    ocr=None,
):
    """Index one PDF as `target` (a `hybrid.Target`); replaces whatever the source had.
    Pages without text are read by `ocr` (a `TesseractOcr`) when it can run.
    Returns an `IngestResult`."""
    progress = progress or (lambda **_: None)
    started = time.perf_counter()
    reader = open_pdf(path, max_pages)
    total_pages = len(reader.pages)
    progress(pages_total=total_pages, pages_done=0)
    pages, garbage = extract_pages(
        reader,
        on_page=lambda done, total: progress(pages_done=done, pages_total=total),
        ocr=ocr,
        path=path,
    )
    chunks = split_pages(pages, tokenizer, max_seq_length, overlap)
    if not chunks:
        raise IngestError("색인할 수 있는 문장이 없습니다 (내용이 너무 짧거나 깨져 있습니다).")
    extracted = time.perf_counter()
    progress(chunks_total=len(chunks), chunks_done=0)
    store.delete(target.space, target.source)  # re-index: nothing stale, nothing twice
    for start in range(0, len(chunks), batch_size):
        batch = chunks[start : start + batch_size]
        store.add(target, batch)
        progress(chunks_done=start + len(batch))
    result = IngestResult(
        pages=total_pages,
        chunks=len(chunks),
        garbage_pages=garbage,
        ocr_pages=[page.number for page in pages if page.ocr],
        extract_seconds=extracted - started,
        embed_seconds=time.perf_counter() - extracted,
    )
    log.info("indexed %s/%s: %s", target.space, target.source, result)
    return result
