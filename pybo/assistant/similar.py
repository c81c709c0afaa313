"""비슷한 질문: board questions like the one being typed, from the board index.

Chunks are ranked with the hybrid retriever over the `board` space and folded into
questions (a question ranks by its best chunk); a question is only suggested when its
best chunk holds enough of the query's words (`SIMILAR_MIN_RELEVANCE`), so a subject
about something new gets no suggestions rather than noise.
"""

from flask import current_app
from sqlalchemy import select

from pybo.assistant.board_index import SPACE
from pybo.extensions import db
from pybo.knowledge.hybrid import Scope
from pybo.models import Question
from pybo.rag_chat import runtime

MAX_QUERY_CHARS = 1000
CHUNKS_PER_QUESTION = 4  # chunks fetched per question wanted, before folding


def query_of(subject, content=""):
    return f"{(subject or '').strip()}\n{(content or '').strip()}"[:MAX_QUERY_CHARS].strip()


def fold(hits, exclude=None, floor=0.0, limit=5):
    """{question_id: relevance} of the best `limit` questions, from chunk hits in rank
    order (a question's first chunk is its best); below `floor` a question is left out."""
    best = {}
    for hit in hits:
        if hit.question_id is None or hit.question_id == exclude or hit.question_id in best:
            continue
        if hit.relevance >= floor:
            best[hit.question_id] = hit.relevance
        if len(best) == limit:
            break
    return best


def similar_questions(subject, content="", exclude=None, limit=None):
    """[{"id", "subject", "url", "answer_count", "resolved", "score"}], best first."""
    config = current_app.config
    limit = limit or config["SIMILAR_LIMIT"]
    query = query_of(subject, content)
    if not query:
        return []
    hits = runtime.retriever().search(query, [Scope(SPACE)], k=limit * CHUNKS_PER_QUESTION)
    best = fold(hits, exclude, config["SIMILAR_MIN_RELEVANCE"], limit)
    ids = list(best)
    questions = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))}
    return [
        {
            "id": question_id,
            "subject": questions[question_id].subject,
            "url": f"/question/detail/{question_id}/",
            "answer_count": questions[question_id].answer_count,
            "resolved": bool(getattr(questions[question_id], "resolved", False)),
            "score": round(best[question_id], 3),
        }
        for question_id in ids
        if question_id in questions  # deleted since it was indexed: left out
    ]
