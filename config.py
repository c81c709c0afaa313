"""Application settings, read from the environment with safe development defaults.

`create_app(config_class)` picks one of these classes; every value can be overridden by
an environment variable of the same name, so a deployment never edits this file.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET_KEY = "dev-insecure-secret-key"


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_bool(name, default):
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url():
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the driver-less scheme; SQLAlchemy 2 wants psycopg.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    return f"sqlite:///{BASE_DIR / 'instance' / 'pybo.db'}"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    BOOTSTRAP_SERVE_LOCAL = True  # Bootstrap 5 from the Bootstrap-Flask package, no CDN
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PASSWORD_HASH_METHOD = "scrypt"

    # Login / sign-up throttling (pybo/auth/throttle.py): failed POSTs per account name and
    # per client address. Storage: RATELIMIT_STORAGE_URI, else the Celery broker's Redis,
    # else memory; unreachable storage falls back to memory with a warning.
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "")
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute")
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "20 per minute")

    # Board
    QUESTIONS_PER_PAGE = 10
    ANSWERS_PER_PAGE = 10
    # A question's view counts once per viewer (user, or anonymous session) per window.
    VIEW_WINDOW_MINUTES = _env_int("VIEW_WINDOW_MINUTES", 30)

    # Uploads: whole-request cap; the PDF cap below is checked per file.
    MAX_UPLOAD_MB = _env_int("MAX_UPLOAD_MB", 50)
    MAX_CONTENT_LENGTH = (MAX_UPLOAD_MB + 1) * 1024 * 1024
    MAX_PDF_PAGES = _env_int("MAX_PDF_PAGES", 500)
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "resources" / "upload"))

    # RAG models: a hub id or a local folder each.
    EMBEDDING_MODEL = os.environ.get(
        "EMBEDDING_MODEL", str(BASE_DIR / "resources" / "models" / "ko-sroberta")
    )
    LLM_MODEL = os.environ.get(
        "LLM_MODEL", str(BASE_DIR / "resources" / "models" / "gemma-3n-E2B-it")
    )
    EMBEDDING_HUB_ID = "jhgan/ko-sroberta-multitask"
    LLM_HUB_ID = "google/gemma-3n-E2B-it"
    # auto: the int8 ONNX export on CPU when `flask models optimize` wrote it, else torch
    # (always torch on a GPU). torch | onnx | onnx-int8 force one.
    EMBEDDING_BACKEND = os.environ.get("EMBEDDING_BACKEND", "auto")
    MODEL_DIR = os.environ.get("MODEL_DIR", str(BASE_DIR / "resources" / "models"))
    LLM_MAX_NEW_TOKENS = _env_int("LLM_MAX_NEW_TOKENS", 512)
    LLM_DO_SAMPLE = _env_bool("LLM_DO_SAMPLE", False)
    LLM_TEMPERATURE = float(os.environ.get("LLM_TEMPERATURE", "0.7"))
    LLM_TOP_P = float(os.environ.get("LLM_TOP_P", "0.95"))
    LLM_MAX_CONCURRENT = _env_int("LLM_MAX_CONCURRENT", 0)  # 0: 1 on CPU, 2 on GPU
    LLM_DEVICE = os.environ.get("LLM_DEVICE", "auto")
    # A served LLM (README, "Served LLM"): any OpenAI-compatible server. When set, no web
    # or worker process loads the model; LLM_MODEL's folder only lends its tokenizer.
    LLM_BASE_URL = os.environ.get("LLM_BASE_URL", "")  # e.g. http://127.0.0.1:8001/v1
    LLM_API_KEY = os.environ.get("LLM_API_KEY", "")
    LLM_SERVED_MODEL = os.environ.get("LLM_SERVED_MODEL", "google/gemma-3n-E2B-it")
    LLM_TOKENIZER = os.environ.get("LLM_TOKENIZER", "")  # folder or hub id; else LLM_MODEL's
    LLM_REQUEST_TIMEOUT = float(os.environ.get("LLM_REQUEST_TIMEOUT", "120"))

    # Vector store: embedded Chroma under vector_store/ unless CHROMA_HOST is set.
    VECTOR_STORE_DIR = os.environ.get("VECTOR_STORE_DIR", str(BASE_DIR / "vector_store"))
    CHROMA_HOST = os.environ.get("CHROMA_HOST", "")
    CHROMA_PORT = _env_int("CHROMA_PORT", 8000)
    CHROMA_COLLECTION = os.environ.get("CHROMA_COLLECTION", "pybo_chunks")

    # Retrieval / chat. Fusion: score | rrf | lexical | dense (see pybo/rag_chat/fusion.py).
    # Defaults measured on KorQuAD dev with `flask rag eval` (README, "Korean retrieval").
    RAG_TOP_K = _env_int("RAG_TOP_K", 4)
    RAG_FUSION = os.environ.get("RAG_FUSION", "score")
    RAG_LEXICAL_WEIGHT = float(os.environ.get("RAG_LEXICAL_WEIGHT", "0.9"))
    RAG_DENSE_WEIGHT = float(os.environ.get("RAG_DENSE_WEIGHT", "0.1"))
    RAG_BM25_K1 = float(os.environ.get("RAG_BM25_K1", "0.7"))
    RAG_BM25_B = float(os.environ.get("RAG_BM25_B", "0.4"))
    RAG_CANDIDATES = _env_int("RAG_CANDIDATES", 50)
    RAG_LEXICAL_CONTEXT = _env_int("RAG_LEXICAL_CONTEXT", 1)
    RERANKER_MODEL = os.environ.get("RERANKER_MODEL", "")  # a CrossEncoder; off when empty
    RERANK_TOP = _env_int("RERANK_TOP", 20)
    RAG_CHUNK_OVERLAP_TOKENS = _env_int("RAG_CHUNK_OVERLAP_TOKENS", 24)
    RAG_HISTORY_TOKENS = _env_int("RAG_HISTORY_TOKENS", 1024)
    RAG_CONTEXT_TOKENS = _env_int("RAG_CONTEXT_TOKENS", 1536)
    # A follow-up is rewritten into one short question: its own small token budget.
    CHAT_CONDENSE_MAX_TOKENS = _env_int("CHAT_CONDENSE_MAX_TOKENS", 64)
    # A stream with no event for this long ends with an error and stops generating.
    CHAT_STREAM_IDLE_SECONDS = float(os.environ.get("CHAT_STREAM_IDLE_SECONDS", "120"))

    # The board's assistant. BOARD_AI_ANSWERS: off | opt-in | auto; unset: opt-in when the
    # models are present. AI_ANSWER_MIN_RELEVANCE: the share of a question's (idf-weighted)
    # words a passage must hold to be used; below it on every passage, no AI answer is
    # posted. SIMILAR_MIN_RELEVANCE likewise for "비슷한 질문". Measured on KorQuAD dev
    # (README, "The board's assistant").
    BOARD_AI_ANSWERS = os.environ.get("BOARD_AI_ANSWERS", "")
    AI_ANSWER_MIN_RELEVANCE = float(os.environ.get("AI_ANSWER_MIN_RELEVANCE", "0.5"))
    SIMILAR_MIN_RELEVANCE = float(os.environ.get("SIMILAR_MIN_RELEVANCE", "0.4"))
    SIMILAR_LIMIT = 5

    # Background jobs: in-process unless a Celery broker is configured.
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "")
    JOB_WORKERS = _env_int("JOB_WORKERS", 1)
    JOB_LEASE_SECONDS = _env_int("JOB_LEASE_SECONDS", 120)  # a silent job is presumed dead
    JOB_RETRIES = _env_int("JOB_RETRIES", 5)
    JOB_RETRY_SECONDS = float(os.environ.get("JOB_RETRY_SECONDS", "2"))  # doubles each retry
    JOB_VISIBILITY_TIMEOUT = _env_int("JOB_VISIBILITY_TIMEOUT", 3600)  # Redis redelivery
    INGEST_BATCH_SIZE = _env_int("INGEST_BATCH_SIZE", 64)

    # OCR of scanned pages: Tesseract with Korean data (`apt-get install tesseract-ocr
    # tesseract-ocr-kor`); used only when `tesseract --list-langs` shows every language.
    OCR_ENABLED = _env_bool("OCR_ENABLED", True)
    TESSERACT_CMD = os.environ.get("TESSERACT_CMD", "tesseract")
    OCR_LANGUAGES = os.environ.get("OCR_LANGUAGES", "kor+eng")
    OCR_DPI = _env_int("OCR_DPI", 300)


class DevelopmentConfig(Config):
    DEBUG = True


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False  # tests that check CSRF turn it back on
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SECRET_KEY = "test-secret-key"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashes keep the suite quick
    RATELIMIT_ENABLED = False  # tests of throttling turn it on


class ProductionConfig(Config):
    # The session cookie travels over HTTPS only. Plain HTTP on this machine (shell/run.sh
    # --prod serves 127.0.0.1) opts out with SESSION_COOKIE_SECURE=0.
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)

    @classmethod
    def check(cls):
        """Refuse to run a production server with the well-known development secret."""
        if not cls.SECRET_KEY or cls.SECRET_KEY == DEFAULT_SECRET_KEY:
            raise RuntimeError(
                "ProductionConfig needs a SECRET_KEY environment variable, e.g. "
                "export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}
