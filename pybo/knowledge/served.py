"""A served LLM: any OpenAI-compatible server (vLLM, llama.cpp, Ollama, `transformers serve`).

With `LLM_BASE_URL` set, no web or worker process loads the model: every process talks
to one server through `langchain-openai`'s `ChatOpenAI`, streaming. `ServedChatModel`
wraps it so the chain sees the same interface as the in-process `LocalChatModel`:

- `count_tokens(text)` for the history/context budgets: the served model's tokenizer
  (`LLM_TOKENIZER`, else the local model folder's) or, without one, a conservative
  estimate (`estimate_tokens`), so budgets never overflow the server's context;
- `max_tokens` bounds every answer like `max_new_tokens` in-process;
- closing the stream, or a `cancel` event bound to the model (the stop button, the
  idle watchdog) seen at the next streamed token, closes the HTTP response, and the
  server stops generating (vLLM, llama.cpp, Ollama and `transformers serve` abort on a
  disconnect);
- a dead, slow or failing server becomes `ModelUnavailable` with a short Korean reason
  (details go to the log, never to the user).

Nothing heavy at import: `langchain_openai` (and httpx) load on first use.
"""

import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from pybo.incidents import report
from pybo.knowledge.providers import ModelUnavailable

log = logging.getLogger(__name__)

SERVER_DOWN = "언어 모델 서버에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요"
SERVER_SLOW = "언어 모델 서버가 제한 시간 안에 답하지 않았습니다. 잠시 후 다시 시도해 주세요"
SERVER_FAILED = "언어 모델 서버가 요청을 처리하지 못했습니다"
SERVER_HINT = "LLM_BASE_URL 의 서버를 확인하세요 (README, 'Served LLM')"


@dataclass(frozen=True)
class ServedSettings:
    base_url: str  # e.g. http://127.0.0.1:8001/v1
    model: str  # the name the server knows the model by
    api_key: str = ""
    timeout: float = 120.0  # seconds without a byte from the server (connect: 5 s)
    max_retries: int = 1


def estimate_tokens(text):
    """An upper estimate of a text's tokens when no tokenizer is at hand.

    Gemma's tokenizer (262k vocabulary) spends about one token per 1-2 Hangul
    syllables and ~4 characters per English token; counting one token per non-ASCII
    character and one per two ASCII characters overestimates both, so the history and
    context budgets stay inside the server's window (at the price of shorter prompts:
    set LLM_TOKENIZER for exact counts)."""
    wide = sum(1 for char in text if ord(char) > 127)
    return wide + math.ceil((len(text) - wide) / 2)


def v1_url(base_url):
    """`http://host:port` or `.../v1` -> the `.../v1` root the OpenAI API lives under."""
    base = base_url.rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


def _translate(exc, settings):
    """A client-side exception -> ModelUnavailable with a Korean reason (logged in full).
    The openai SDK (>= 3) runs on `httpx2`; a read that fails mid-stream raises its
    errors unwrapped."""
    import httpx2
    import openai

    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        reason = SERVER_SLOW
    elif isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        reason = SERVER_DOWN
    else:
        reason = report(SERVER_FAILED, exc, log, at=settings.base_url)
    if reason in (SERVER_SLOW, SERVER_DOWN):
        log.warning("LLM server %s: %s (%s)", settings.base_url, reason, exc)
    return ModelUnavailable("llm", settings.base_url, reason, hint=SERVER_HINT)


def _client_errors():
    import httpx2
    import openai

    return (openai.OpenAIError, httpx2.HTTPError)


class ServedChatModel(BaseChatModel):
    """Chat model over an OpenAI-compatible server; same interface as LocalChatModel."""

    client: Any  # langchain_openai.ChatOpenAI
    server: Any  # ServedSettings
    tokenizer: Any = None  # transformers tokenizer, or None: estimate_tokens
    max_new_tokens: int = 512

    @property
    def _llm_type(self):
        return "pybo-served-openai"

    def count_tokens(self, text):
        if self.tokenizer is None:
            return estimate_tokens(text)
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def get_num_tokens(self, text):  # LangChain's hook (ChatOpenAI's would need tiktoken files)
        return self.count_tokens(text)

    def _stream(
        self, messages, stop=None, run_manager=None, **kwargs
    ) -> Iterator[ChatGenerationChunk]:
        cancel = kwargs.pop("cancel", None)  # the stop button / idle watchdog (chain.py)
        limit = kwargs.pop("max_new_tokens", None) or self.max_new_tokens
        # ChatOpenAI sends `max_completion_tokens`; older llama.cpp/Ollama read `max_tokens`.
        kwargs.update(max_tokens=limit, extra_body={"max_tokens": limit})
        inner = self.client._stream(messages, stop=stop, **kwargs)
        try:
            for chunk in inner:
                if cancel is not None and cancel.is_set():
                    break  # `inner.close()` below ends the request
                text = chunk.message.content
                if text or chunk.message.usage_metadata:  # the last chunk: token usage
                    if run_manager and text:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
        except ModelUnavailable:
            raise
        except _client_errors() as exc:
            raise _translate(exc, self.server) from exc
        finally:
            inner.close()  # closes the HTTP response: the server stops generating

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        text = "".join(chunk.message.content for chunk in self._stream(messages, stop, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def make_chat_model(settings, tokenizer=None, *, max_new_tokens=512, do_sample=False,
                    temperature=0.7, top_p=0.95):  # fmt: skip
    """A `ServedChatModel`; greedy unless `do_sample` (temperature 0 on the wire)."""
    import httpx2  # the openai SDK's HTTP library (openai >= 3)
    from langchain_openai import ChatOpenAI

    client = ChatOpenAI(
        model=settings.model,
        base_url=v1_url(settings.base_url),
        api_key=settings.api_key or "not-needed",  # local servers ignore it; the SDK wants one
        timeout=httpx2.Timeout(settings.timeout, connect=5.0),
        max_retries=settings.max_retries,
        temperature=temperature if do_sample else 0.0,
        top_p=top_p if do_sample else None,
        streaming=True,
        stream_usage=True,
    )
    return ServedChatModel(
        client=client, server=settings, tokenizer=tokenizer, max_new_tokens=max_new_tokens
    )


class HealthCheck:
    """Whether the server answers, cached for `ttl` seconds (pages ask on every view)."""

    def __init__(self, base_url, ttl=5.0, timeout=1.5):
        self.base_url = base_url
        self.ttl = ttl
        self.timeout = timeout
        self._lock = threading.Lock()
        self._checked = (-math.inf, None)

    def problem(self):
        """None when the server answers HTTP at all, else a short Korean reason."""
        with self._lock:
            at, problem = self._checked
            if time.monotonic() - at < self.ttl:
                return problem
            problem = server_problem(self.base_url, self.timeout)
            self._checked = (time.monotonic(), problem)
            return problem


def server_problem(base_url, timeout=2.0):
    """None when the server answers `GET /health` (vLLM, llama.cpp, `transformers serve`)
    or `GET /v1/models` (Ollama and the rest) below 500, else a short Korean reason."""
    import httpx

    root = v1_url(base_url)
    problem = SERVER_FAILED
    with httpx.Client(timeout=timeout) as client:
        for url in (root.removesuffix("/v1") + "/health", root + "/models"):
            try:
                if client.get(url).status_code < 500:
                    return None
            except httpx.TimeoutException:
                return SERVER_SLOW  # a hung server: don't make the page wait twice
            except httpx.HTTPError as exc:
                log.info("LLM server %s: %s unreachable: %s", base_url, url, exc)
                problem = SERVER_DOWN
    return problem
