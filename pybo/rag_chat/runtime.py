"""Per-app RAG objects (providers, generation gate, job runner), built on first use.

They live in `app.extensions["rag_chat"]`, so every request, job and CLI command
in a process shares one embedder, one LLM and one Chroma client.
"""

import logging
import os
import threading

from flask import current_app

from pybo.knowledge.providers import ModelSettings, OnceCache, Providers

log = logging.getLogger(__name__)

SERVED_SLOTS = 4  # concurrent generations per process against a served LLM (default)


class GenerationGate:
    """Bounds concurrent generations; `try_enter` tells the caller to show 'queued'."""

    def __init__(self, slots):
        self.slots = slots
        self._semaphore = threading.BoundedSemaphore(slots)

    def try_enter(self):
        return self._semaphore.acquire(blocking=False)

    def enter(self, timeout=None):
        return self._semaphore.acquire(timeout=timeout)

    def leave(self):
        self._semaphore.release()


def init_app(app):
    """Fresh per-app state (tests call it again to reset), hooks registered once."""
    first = "rag_chat" not in app.extensions
    app.extensions["rag_chat"] = OnceCache()
    if first:

        @app.before_request
        def _recover_interrupted_answers():
            """Once per server process, at its first request: answers whose writer
            process died (a killed server) become `interrupted` (not at create_app: CLI
            commands such as `flask db upgrade` build the app before the tables exist)."""
            _once("interrupted_checked", _mark_interrupted, app)

    if app.testing or app.config["CELERY_BROKER_URL"]:
        return  # Celery workers recover on start (pybo/worker.py)

    @app.before_request
    def _start_job_runner():
        """The first request a server process handles starts its in-process runner,
        which re-queues documents a previous run left unfinished. (Not at create_app:
        CLI commands such as `flask db upgrade` build the app too, then exit.)"""
        if "runner" not in app.extensions["rag_chat"]:
            runner(app)


def _mark_interrupted():
    from pybo.extensions import db
    from pybo.rag_chat import liveness

    try:
        return liveness.mark_interrupted()
    except Exception:  # a failed check must not fail the request; the next start retries
        log.exception("could not check for interrupted answers")
        db.session.rollback()
        return 0


def _state(app=None):
    return (app or current_app).extensions["rag_chat"]


def _once(key, build, app=None):
    return _state(app).once(key, build)


def providers(app=None):
    app = app or current_app._get_current_object()
    config = app.config

    def build():
        return Providers(
            ModelSettings(
                embedding=config["EMBEDDING_MODEL"],
                llm=config["LLM_MODEL"],
                device=config["LLM_DEVICE"],
                vector_dir=config["VECTOR_STORE_DIR"],
                chroma_host=config["CHROMA_HOST"],
                chroma_port=config["CHROMA_PORT"],
                collection=config["CHROMA_COLLECTION"],
                reranker=config["RERANKER_MODEL"],
                llm_base_url=config["LLM_BASE_URL"],
                llm_tokenizer=config["LLM_TOKENIZER"],
                embedding_backend=config["EMBEDDING_BACKEND"],
                failure_file=os.path.join(config["MODEL_DIR"], ".load_failures.json"),
            )
        )

    return _once("providers", build, app)


def gate(app=None):
    app = app or current_app._get_current_object()

    def build():
        slots = app.config["LLM_MAX_CONCURRENT"]
        if slots <= 0 and app.config["LLM_BASE_URL"]:
            slots = SERVED_SLOTS  # the server batches (vLLM) or queues (transformers serve)
        elif slots <= 0:
            slots = 2 if providers(app).device == "cuda" else 1
        return GenerationGate(slots)

    return _once("gate", build, app)


def retrieval_settings(config):
    from pybo.knowledge.fusion import METHODS, FusionSettings
    from pybo.knowledge.hybrid import RetrievalSettings

    method = config["RAG_FUSION"]
    if method not in METHODS:
        raise ValueError(f"RAG_FUSION must be one of {', '.join(METHODS)}, not {method!r}")
    return RetrievalSettings(
        fusion=FusionSettings(method, config["RAG_LEXICAL_WEIGHT"], config["RAG_DENSE_WEIGHT"]),
        k1=config["RAG_BM25_K1"],
        b=config["RAG_BM25_B"],
        candidates=config["RAG_CANDIDATES"],
        context=config["RAG_LEXICAL_CONTEXT"],
        rerank_top=config["RERANK_TOP"],
    )


def retriever(app=None):
    """The hybrid retriever over the vector store and the chunk table (cached)."""
    app = app or current_app._get_current_object()

    def build():
        from pybo.knowledge.hybrid import HybridRetriever
        from pybo.rag_chat.chunks import SqlChunks

        chosen = providers(app)
        return HybridRetriever(
            chosen.vector_store(),
            SqlChunks(),
            retrieval_settings(app.config),
            reranker=chosen.reranker(),
        )

    return _once("retriever", build, app)  # a ModelUnavailable is raised, not cached


def chat_model(app=None):
    """The LangChain chat model: over the served LLM when LLM_BASE_URL is set, else over
    the model loaded in this process (raises ModelUnavailable)."""
    app = app or current_app._get_current_object()
    if app.config["LLM_BASE_URL"]:
        return _once("chat_model", lambda: served_chat_model(app), app)

    def build():
        from pybo.rag_chat.generation import LocalChatModel

        model, tokenizer = providers(app).llm()
        config = app.config
        return LocalChatModel(
            model=model,
            tokenizer=tokenizer,
            max_new_tokens=config["LLM_MAX_NEW_TOKENS"],
            do_sample=config["LLM_DO_SAMPLE"],
            temperature=config["LLM_TEMPERATURE"],
            top_p=config["LLM_TOP_P"],
        )

    return _once("chat_model", build, app)  # a ModelUnavailable is raised, not cached


def ocr(app=None):
    """The Tesseract OCR for scanned pages; whether it can run is checked on first use."""
    app = app or current_app._get_current_object()

    def build():
        from pybo.knowledge.ocr import TesseractOcr

        config = app.config
        return TesseractOcr(
            command=config["TESSERACT_CMD"],
            languages=config["OCR_LANGUAGES"],
            dpi=config["OCR_DPI"],
            enabled=config["OCR_ENABLED"],
        )

    return _once("ocr", build, app)


def served_chat_model(app):
    """A `ServedChatModel` on LLM_BASE_URL; loads a tokenizer at most, never the model."""
    from pybo.knowledge.served import ServedSettings, make_chat_model

    config = app.config
    settings = ServedSettings(
        base_url=config["LLM_BASE_URL"],
        model=config["LLM_SERVED_MODEL"],
        api_key=config["LLM_API_KEY"],
        timeout=config["LLM_REQUEST_TIMEOUT"],
    )
    return make_chat_model(
        settings,
        providers(app).llm_tokenizer(),
        max_new_tokens=config["LLM_MAX_NEW_TOKENS"],
        do_sample=config["LLM_DO_SAMPLE"],
        temperature=config["LLM_TEMPERATURE"],
        top_p=config["LLM_TOP_P"],
    )


def runner(app=None):
    app = app or current_app._get_current_object()
    from pybo import jobs

    return _once("runner", lambda: jobs.make_runner(app), app)
