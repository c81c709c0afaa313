"""Question rules: listing (search, sort, 해결됨 filter, paging), create, modify,
delete, views (once per viewer per window)."""

from datetime import timedelta

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import delete as sql_delete
from sqlalchemy import literal, select, update
from sqlalchemy.orm import selectinload

from pybo.common.paging import clamped, paginate
from pybo.extensions import db
from pybo.models import Answer, Question, QuestionView, now
from pybo.question import search

# Ids grow with creation time, so "latest" is the primary key order: the search
# index pages through it without touching the question table.
SORTS = {
    "latest": (Question.id.desc(),),
    "recommend": (Question.vote_count.desc(), Question.id.desc()),
    "popular": (Question.answer_count.desc(), Question.id.desc()),
}
# ?status=: 미해결 (open) or 해결됨 (resolved: an answer is accepted)
STATUSES = {"open": False, "resolved": True}
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


def list_query(kw="", so="latest", status=None):
    """`select(Question)` for the list page: filtered by `kw` and `status`, ordered by
    `so`."""
    query = select(Question).options(selectinload(Question.user))
    if kw:
        query = search.filter_questions(query, kw, db.session.get_bind())
    if status in STATUSES:
        query = query.where(Question.resolved == STATUSES[status])
    return query.order_by(*SORTS.get(so, SORTS["latest"]))


def _by_ids(ids):
    found = db.session.scalars(
        select(Question).options(selectinload(Question.user)).where(Question.id.in_(ids))
    )
    rows = {question.id: question for question in found}
    return [rows[i] for i in ids if i in rows]


def list_page(kw, so, page, per_page, status=None):
    """The list page's pagination (past the end: the last page). With an FTS index, a
    search counts matches and pages newest-first inside the index instead of joining
    every match."""
    status = status if status in STATUSES else None
    expr = search.fts_query(kw) if kw and search.uses_fts(db.session.get_bind()) else None
    if expr is None or status:
        return paginate(list_query(kw, so, status), page, per_page)
    return clamped(lambda number: _search_page(kw, so, expr, number, per_page), page)


def _search_page(kw, so, expr, page, per_page):
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


def _touch_view(question_id, viewer, since):
    """Record that `viewer` saw the question now, unless they already did after `since`.
    One statement that writes first (no read before the write, so SQLite never has to
    upgrade an older snapshot); True when a row was written."""
    moment = now()
    source = select(Question.id, literal(viewer), literal(moment)).where(Question.id == question_id)
    columns = ["question_id", "viewer", "viewed_at"]
    dialect = db.session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        module = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
        statement = module.insert(QuestionView).from_select(columns, source)
        statement = statement.on_conflict_do_update(
            index_elements=["question_id", "viewer"],
            set_={"viewed_at": moment},
            where=QuestionView.viewed_at < since,
        )
        # RETURNING yields a row only when one was inserted or updated (rowcount is not
        # reliable for INSERT … SELECT across drivers).
        statement = statement.returning(QuestionView.question_id)
        return db.session.execute(statement).first() is not None
    seen = db.session.get(QuestionView, (question_id, viewer))  # other databases
    if seen is not None and seen.viewed_at >= since:
        return False
    db.session.merge(QuestionView(question_id=question_id, viewer=viewer, viewed_at=moment))
    return True


def count_view(question_id, viewer, window_minutes=30, count=True):
    """Add one view (atomic in SQL) unless `viewer` saw the question within the window;
    with `count=False` only note that they saw it (the page after posting an answer).
    Views older than the window are deleted as new ones arrive: the table stays as
    small as one window's distinct viewers."""
    since = now() - timedelta(minutes=window_minutes)
    if _touch_view(question_id, viewer, since if count else now()) and count:
        db.session.execute(
            update(Question)
            .where(Question.id == question_id)
            .values(view_count=Question.view_count + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(sql_delete(QuestionView).where(QuestionView.viewed_at < since))
    db.session.commit()


def answers_page(question, page, so="old", per_page=10):
    """One page of a question's answers: the accepted one first, then the chosen order
    (past the end: the last page)."""
    query = (
        select(Answer)
        .options(selectinload(Answer.user))
        .where(Answer.question_id == question.id)
        .order_by(Answer.accepted.desc(), *ANSWER_SORTS.get(so, ANSWER_SORTS["old"]))
    )
    return paginate(query, page, per_page)
