"""A LangChain chat model over a local transformers causal LM, streaming tokens.

`ChatHuggingFace` would send `<bos>` twice with Gemma's tokenizer and gives up after
60 s without a token (a long CPU prefill). Here the prompt is tokenized once by the
model's own chat template, `model.generate` runs in a thread feeding a
`TextIteratorStreamer`, and the consumer polls it: it notices a dead generation
thread, and closing the stream (a client that went away) stops generation at the next
token through a stopping criterion. So does a `cancel` event bound to the model
(`llm.bind(cancel=event)`, the chat's stop button): the criterion checks it at every
generation step.
"""

import queue
import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class GenerationError(RuntimeError):
    """The model failed while generating."""


def to_chat(messages):
    """LangChain messages -> chat-template dicts (consecutive system text merged)."""
    out = []
    for message in messages:
        role = ROLES.get(message.type, "user")
        content = message.content if isinstance(message.content, str) else str(message.content)
        if out and out[-1]["role"] == role == "system":
            out[-1]["content"] += "\n\n" + content
        else:
            out.append({"role": role, "content": content})
    return out


class LocalChatModel(BaseChatModel):
    """Chat model over `model` + `tokenizer` (transformers), CPU or GPU."""

    model: Any
    tokenizer: Any
    max_new_tokens: int = 512
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.95
    poll_seconds: float = 0.5

    @property
    def _llm_type(self):
        return "pybo-local-transformers"

    def count_tokens(self, text):
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def _inputs(self, messages):
        encoded = self.tokenizer.apply_chat_template(
            to_chat(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return {key: value.to(self.model.device) for key, value in encoded.items()}

    def _generate_kwargs(self, max_new_tokens=None):
        kwargs = {"max_new_tokens": max_new_tokens or self.max_new_tokens, "do_sample": False}
        if self.do_sample:
            kwargs.update(do_sample=True, temperature=self.temperature, top_p=self.top_p)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return kwargs

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        text = "".join(chunk.message.content for chunk in self._stream(messages, stop, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs
    ) -> Iterator[ChatGenerationChunk]:
        from pybo.knowledge.providers import heavy

        torch = heavy("torch")
        StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer = heavy(  # noqa: N806
            "transformers", "StoppingCriteria", "StoppingCriteriaList", "TextIteratorStreamer"
        )

        stop_event = threading.Event()
        cancel = kwargs.get("cancel")

        def stopped():
            return stop_event.is_set() or (cancel is not None and cancel.is_set())

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **_):
                flag = stopped()
                return torch.full((input_ids.shape[0],), flag, dtype=torch.bool)

        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=self.poll_seconds
        )
        inputs = self._inputs(messages)
        failure = []

        def work():
            try:
                with torch.inference_mode():
                    self.model.generate(
                        **inputs,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Stop()]),
                        **self._generate_kwargs(kwargs.get("max_new_tokens")),
                    )
            except Exception as exc:  # reported to the consumer below
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=work, name="llm-generate", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    text = next(streamer)
                except StopIteration:
                    break
                except queue.Empty:
                    if not thread.is_alive() and streamer.text_queue.empty():
                        break
                    if cancel is not None and cancel.is_set():
                        break  # a long prefill: don't wait for its first token
                    continue
                if text:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
        finally:
            stop_event.set()  # also reached when the consumer closes the generator
            thread.join(timeout=30)
        if failure:
            raise GenerationError(f"답변 생성 중 모델 오류: {failure[0]}") from failure[0]
