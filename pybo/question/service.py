"""Question rules: listing (search, sort, paging), create, modify, delete, views."""

from sqlalchemy import select, update

from pybo.extensions import db
from pybo.models import Answer, Question, now
from pybo.question import search

SORTS = {
    "latest": (Question.create_date.desc(), Question.id.desc()),
    "recommend": (Question.vote_count.desc(), Question.create_date.desc(), Question.id.desc()),
    "popular": (Question.answer_count.desc(), Question.create_date.desc(), Question.id.desc()),
}
ANSWER_SORTS = {
    "old": (Answer.create_date.asc(), Answer.id.asc()),
    "latest": (Answer.create_date.desc(), Answer.id.desc()),
    "recommend": (Answer.vote_count.desc(), Answer.create_date.asc(), Answer.id.asc()),
}


def list_query(kw="", so="latest"):
    """`select(Question)` for the list page: filtered by `kw`, ordered by `so`."""
    query = select(Question)
    if kw:
        query = search.filter_questions(query, kw, db.session.get_bind())
    return query.order_by(*SORTS.get(so, SORTS["latest"]))


def create(user, subject, content):
    question = Question(subject=subject, content=content, user=user, create_date=now())
    db.session.add(question)
    db.session.commit()
    return question


def modify(question, subject, content):
    question.subject = subject
    question.content = content
    question.modify_date = now()
    db.session.commit()
    return question


def delete(question):
    db.session.delete(question)
    db.session.commit()


def count_view(question):
    """Add one view without touching the modify date (atomic in SQL)."""
    db.session.execute(
        update(Question)
        .where(Question.id == question.id)
        .values(view_count=Question.view_count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def answers_page(question, page, so="old", per_page=10):
    """One page of a question's answers in the chosen order."""
    query = (
        select(Answer)
        .where(Answer.question_id == question.id)
        .order_by(*ANSWER_SORTS.get(so, ANSWER_SORTS["old"]))
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
