"""Prompts and the question-answering flow as plain LCEL chains.

`ask()` is a generator of `(event, data)` pairs that knows nothing of Flask:

    status -> condensed (follow-ups only) -> sources -> token* -> (the caller adds done)

Follow-ups are first rewritten into a standalone question by a separate,
non-streaming `invoke` of the condense chain; only the answer chain is streamed, so
condense tokens can never leak into the answer. History and context are bounded in
tokens of the answering model.
"""

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

CONDENSE_SYSTEM = (
    "아래 대화와 후속 질문을 보고, 대화를 보지 않아도 이해할 수 있는 하나의 독립된 "
    "한국어 질문으로 다시 쓰세요. 질문 한 문장만 출력하고 답하지 마세요."
)
ANSWER_SYSTEM = (
    "당신은 검색된 자료(PDF 문서와 게시판 글)를 근거로 답하는 한국어 도우미입니다.\n"
    "아래 [자료]에 있는 내용만 근거로 한국어로 답하세요. 자료에 답이 없으면 "
    '"제공된 자료에서 답을 찾을 수 없습니다."라고 분명히 말하고 추측하지 마세요.\n'
    "근거로 쓴 자료의 번호를 [1], [2]처럼 문장 끝에 표시하세요.\n\n"
    "[자료]\n{context}"
)
NO_CONTEXT = "(검색된 자료가 없습니다.)"


def condense_chain(llm):
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", CONDENSE_SYSTEM),
            MessagesPlaceholder("history"),
            ("human", "후속 질문: {question}\n독립된 질문:"),
        ]
    )
    return prompt | llm | StrOutputParser()


def answer_chain(llm):
    prompt = ChatPromptTemplate.from_messages(
        [("system", ANSWER_SYSTEM), MessagesPlaceholder("history"), ("human", "{question}")]
    )
    return prompt | llm | StrOutputParser()


def history_messages(turns, count_tokens, max_tokens):
    """The newest complete (question, answer) turns that fit in `max_tokens`.

    `turns` is a list of (user_text, assistant_text) pairs, oldest first. Whole turns
    are kept so the chat template always sees user/model alternating.
    """
    kept, used = [], 0
    for question, answer in reversed(turns):
        cost = count_tokens(question) + count_tokens(answer)
        if used + cost > max_tokens:
            break
        kept.append((question, answer))
        used += cost
    messages = []
    for question, answer in reversed(kept):
        messages += [HumanMessage(question), AIMessage(answer)]
    return messages


def label(hit):
    """How a passage is named to the model (and in citations)."""
    if hit.kind == "board":
        return f"게시판: {hit.title}"
    return f"{hit.title}, {hit.page}쪽"


def format_context(hits, count_tokens, max_tokens):
    """Numbered passages `[n] (file, N쪽)` / `[n] (게시판: title)` until the token budget
    is spent."""
    parts, used = [], 0
    for number, hit in enumerate(hits, start=1):
        block = f"[{number}] ({label(hit)})\n{hit.text}"
        cost = count_tokens(block)
        if parts and used + cost > max_tokens:
            break
        parts.append(block)
        used += cost
    return "\n\n".join(parts) or NO_CONTEXT


def _cancellable(llm, cancel):
    """`llm` bound to a cancel flag its generation loop checks at every step."""
    return llm.bind(cancel=cancel) if cancel is not None else llm


def condense(llm, history, question, cancel=None, max_tokens=64):
    """Standalone question for a follow-up (one non-streaming call). A question is short:
    `max_tokens` bounds the call (the answer's 512-token budget once kept a follow-up
    silent for minutes on CPU)."""
    chain = condense_chain(_cancellable(llm, cancel).bind(max_new_tokens=max_tokens))
    text = chain.invoke({"history": history, "question": question})
    text = " ".join(text.strip().split())
    return text[:500] or question


def ask(
    question,
    turns,
    retrieve,
    llm,
    *,
    history_tokens=1024,
    context_tokens=1536,
    cancel=None,
    condense_tokens=64,
):
    """Answer `question` given earlier `turns`; yields (event, data) pairs.

    `retrieve(standalone_question)` returns store `Hit`s already limited to the user's
    documents; `llm` is a LangChain chat model with `count_tokens`. Setting `cancel`
    (a `threading.Event`) ends the answer early: the model checks it at every
    generation step, and no further events follow.
    """
    stopped = cancel.is_set if cancel is not None else (lambda: False)
    history = history_messages(turns, llm.count_tokens, history_tokens)
    standalone = question
    if history:
        yield "status", {"text": "이전 대화를 반영해 질문을 정리하는 중…"}
        standalone = condense(llm, history, question, cancel, condense_tokens)
        if stopped():
            return
        yield "condensed", {"question": standalone}
    yield "status", {"text": "문서에서 관련 내용을 찾는 중…"}
    hits = retrieve(standalone)
    yield "sources", {"sources": [hit.as_source() for hit in hits]}
    context = format_context(hits, llm.count_tokens, context_tokens)
    stream = answer_chain(_cancellable(llm, cancel)).stream(
        {"context": context, "history": history, "question": question}
    )
    try:
        for text in stream:
            if stopped():
                break
            if text:
                yield "token", {"text": text}
    finally:
        stream.close()  # a closed consumer stops the model at its next token
