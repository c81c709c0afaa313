"""Question rules: listing (search, sort, paging), create, modify, delete, views."""

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from pybo.extensions import db
from pybo.models import Answer, Question, now
from pybo.question import search

# Ids grow with creation time, so "latest" is the primary key order: the search
# index pages through it without touching the question table.
SORTS = {
    "latest": (Question.id.desc(),),
    "recommend": (Question.vote_count.desc(), Question.id.desc()),
    "popular": (Question.answer_count.desc(), Question.id.desc()),
}
ANSWER_SORTS = {
    "old": (Answer.create_date.asc(), Answer.id.asc()),
    "latest": (Answer.create_date.desc(), Answer.id.desc()),
    "recommend": (Answer.vote_count.desc(), Answer.create_date.asc(), Answer.id.asc()),
}


class _IndexPagination(Pagination):
    """A page whose items and total come from the search index's own functions."""

    def _query_items(self):
        return self._query_args["items"](self._query_offset, self.per_page)

    def _query_count(self):
        return self._query_args["total"]()


def list_query(kw="", so="latest"):
    """`select(Question)` for the list page: filtered by `kw`, ordered by `so`."""
    query = select(Question).options(selectinload(Question.user))
    if kw:
        query = search.filter_questions(query, kw, db.session.get_bind())
    return query.order_by(*SORTS.get(so, SORTS["latest"]))


def _by_ids(ids):
    found = db.session.scalars(
        select(Question).options(selectinload(Question.user)).where(Question.id.in_(ids))
    )
    rows = {question.id: question for question in found}
    return [rows[i] for i in ids if i in rows]


def list_page(kw, so, page, per_page):
    """The list page's pagination. With an FTS index, a search counts matches and
    pages newest-first inside the index instead of joining every match."""
    expr = search.fts_query(kw) if kw and search.uses_fts(db.session.get_bind()) else None
    if expr is None:
        return db.paginate(list_query(kw, so), page=page, per_page=per_page, error_out=False)
    if so == "latest":

        def items(offset, limit):
            return _by_ids(search.newest_ids(db.session, expr, offset, limit))
    else:

        def items(offset, limit):
            query = list_query(kw, so).limit(limit).offset(offset)
            return list(db.session.scalars(query))

    return _IndexPagination(
        page=page,
        per_page=per_page,
        error_out=False,
        items=items,
        total=lambda: search.count(db.session, expr),
    )


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


def count_view(question_id):
    """Add one view (atomic in SQL). Called before anything is read in the request, so
    on SQLite the write never has to upgrade an older read snapshot."""
    db.session.execute(
        update(Question)
        .where(Question.id == question_id)
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
