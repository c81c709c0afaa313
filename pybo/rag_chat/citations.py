"""Where a citation goes: a PDF opens at its page, a board source at its answer.

Plain paths (no request needed), so background jobs such as AI answers build the same
links as the chat.
"""


def link(source):
    """The URL a click on `source` (a `Hit.as_source()` dict) opens."""
    if source.get("question_id") is not None:
        anchor = f"#answer_{source['answer_id']}" if source.get("answer_id") else ""
        return f"/question/detail/{int(source['question_id'])}/{anchor}"
    page = f"#page={int(source['page'])}" if source.get("page") else ""
    return f"/chat/documents/{int(source['document_id'])}/file{page}"


def with_links(sources):
    return [{**source, "url": link(source)} for source in sources]
