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


@dataclass
class ParsedPdf:
    """A PDF read and cut into chunks, not yet embedded."""

    pages: int
    chunks: list
    garbage_pages: list = field(default_factory=list)
    ocr_pages: list = field(default_factory=list)
    extract_seconds: float = 0.0
    token_lists: list | None = None  # the chunks' morphemes for BM25, when analyzed


def parse_pdf(path, *, tokenizer, max_seq_length, max_pages=500, overlap=24, ocr=None,
              progress=None, analyze=False):  # fmt: skip
    """Check, extract (OCR where needed) and chunk one PDF. Touches no store, so a
    batch can parse the next file in a thread while the current one embeds; `analyze`
    also takes the chunks' morphemes (Kiwi) there, off the embedding thread."""
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
    token_lists = None
    if analyze:
        from pybo.knowledge.lexical import analyze_many

        token_lists = analyze_many([chunk.text for chunk in chunks])
    return ParsedPdf(
        pages=total_pages,
        chunks=chunks,
        garbage_pages=garbage,
        ocr_pages=[page.number for page in pages if page.ocr],
        extract_seconds=time.perf_counter() - started,
        token_lists=token_lists,
    )


def store_parsed(parsed, *, target, store, batch_size=64, progress=None):
    """Embed and store a `ParsedPdf` as `target`, replacing what the source had."""
    progress = progress or (lambda **_: None)
    started = time.perf_counter()
    chunks = parsed.chunks
    progress(chunks_total=len(chunks), chunks_done=0)
    store.delete(target.space, target.source)  # re-index: nothing stale, nothing twice
    for start in range(0, len(chunks), batch_size):
        batch = chunks[start : start + batch_size]
        if parsed.token_lists is None:
            store.add(target, batch)
        else:
            store.add(target, batch, token_lists=parsed.token_lists[start : start + batch_size])
        progress(chunks_done=start + len(batch))
    result = IngestResult(
        pages=parsed.pages,
        chunks=len(chunks),
        garbage_pages=parsed.garbage_pages,
        ocr_pages=parsed.ocr_pages,
        extract_seconds=parsed.extract_seconds,
        embed_seconds=time.perf_counter() - started,
    )
    log.info("indexed %s/%s: %s", target.space, target.source, result)
    return result


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
    parsed = parse_pdf(
        path, tokenizer=tokenizer, max_seq_length=max_seq_length, max_pages=max_pages,
        overlap=overlap, ocr=ocr, progress=progress,
    )  # fmt: skip
    return store_parsed(
        parsed, target=target, store=store, batch_size=batch_size, progress=progress
    )
