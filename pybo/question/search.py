"""Indexed substring search for the board (`kw` on the question list).

The tutorial searched with `ilike '%kw%'` over an outer join of questions, answers
and users, which scans every row (14 s at 100,000 questions). Korean particles are
glued to words (`은행은`, `은행에서`), so word-level full-text search would miss what
substring search finds. Instead every question gets one search document (subject,
content, author, answers and their authors) stored as character bigrams:

    "은행은 좋다" -> "은행 행은 은 좋다 다"

Each word contributes its bigrams followed by its last character. A query word of two
or more characters becomes a phrase of its bigrams, which matches exactly when the
word occurs as a substring of a word in the document; a one-character word becomes a
prefix query. The trailing single character keeps phrases from spanning two words.

SQLite stores the documents in an FTS5 table (`question_search`). PostgreSQL stores
each question's set of bigrams as a `tsvector` with a GIN index plus the lower-cased
words as `body`: the GIN index narrows to questions holding every bigram, and
`body LIKE '%word%'` confirms the exact substring. Other databases fall back to the
unindexed `LIKE` search.
"""

import re
from itertools import chain

from sqlalchemy import Integer, and_, column, event, inspect, or_, select, text
from sqlalchemy.orm import Session, aliased

from pybo.models import Answer, Question, User

_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 8

FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS question_search "
    "USING fts5(tokens, tokenize='ascii', columnsize=0)"
)


def words(value):
    """Lower-cased runs of letters and digits: the unit both sides are split into."""
    return _WORD.findall((value or "").lower())


def document_tokens(*texts):
    """Bigram token string for the search document made of `texts`."""
    out = []
    for word in chain.from_iterable(words(t) for t in texts):
        out.extend(word[i : i + 2] for i in range(len(word) - 1))
        out.append(word[-1])
    return " ".join(out)


def query_words(kw):
    """Distinct search words of `kw`, at most MAX_QUERY_WORDS of them."""
    seen = []
    for word in words(kw):
        if word not in seen:
            seen.append(word)
    return seen[:MAX_QUERY_WORDS]


def fts_query(kw):
    """FTS5 MATCH expression for `kw` (every word must occur), or None if empty."""
    terms = []
    for word in query_words(kw):
        if len(word) == 1:
            terms.append(f'"{word}"*')
        else:
            terms.append('"' + " ".join(word[i : i + 2] for i in range(len(word) - 1)) + '"')
    return " AND ".join(terms) or None


PG_DDL = (
    "CREATE TABLE IF NOT EXISTS question_search ("
    "question_id INTEGER PRIMARY KEY REFERENCES question(id) ON DELETE CASCADE, "
    "tokens tsvector NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_question_search_tokens ON question_search USING GIN (tokens)",
)


def uses_fts(bind):
    return bind.dialect.name == "sqlite"


def uses_tsvector(bind):
    return bind.dialect.name == "postgresql"


def ensure_index(connection):
    """Create the search table where the database supports it (idempotent)."""
    if uses_fts(connection):
        connection.execute(text(FTS_DDL))
    elif uses_tsvector(connection):
        for statement in PG_DDL:
            connection.execute(text(statement))


def drop_index(connection):
    """Drop the search table (tests and resets; `rebuild` recreates it)."""
    suffix = " CASCADE" if uses_tsvector(connection) else ""
    connection.execute(text(f"DROP TABLE IF EXISTS question_search{suffix}"))


def filter_questions(query, kw, bind):
    """Narrow a `select(Question)` to questions matching every word of `kw`."""
    if uses_fts(bind):
        expr = fts_query(kw)
        return query if expr is None else query.where(Question.id.in_(_matching(expr)))
    if uses_tsvector(bind):
        return _filter_tsvector(query, kw)
    return _filter_like(query, kw)


def _lexemes(word):
    return [word] if len(word) == 1 else [word[i : i + 2] for i in range(len(word) - 1)]


def _filter_tsvector(query, kw):
    found = query_words(kw)
    if not found:
        return query
    terms = []
    for word in found:
        if len(word) == 1:
            terms.append(f"'{word}':*")
        else:
            terms.extend(f"'{lexeme}'" for lexeme in dict.fromkeys(_lexemes(word)))
    params = {"tsq": " & ".join(terms)}
    likes = []
    for i, word in enumerate(found):
        params[f"p{i}"] = f"%{word}%"
        likes.append(f"body LIKE :p{i}")
    sql = text(
        "SELECT question_id FROM question_search WHERE tokens @@ CAST(:tsq AS tsquery) AND "
        + " AND ".join(likes)
    ).bindparams(**params)
    return query.where(Question.id.in_(sql.columns(column("question_id", Integer))))


def _matching(expr):
    sql = text("SELECT rowid FROM question_search WHERE question_search MATCH :q")
    return sql.bindparams(q=expr).columns(column("rowid", Integer))


def count(session, expr):
    """Number of questions matching an FTS expression, read from the index alone."""
    sql = text("SELECT count(*) FROM question_search WHERE question_search MATCH :q")
    return session.execute(sql, {"q": expr}).scalar_one()


def newest_ids(session, expr, offset, limit):
    """Ids of matching questions, newest (highest id) first, paged inside the index."""
    sql = text(
        "SELECT rowid FROM question_search WHERE question_search MATCH :q "
        "ORDER BY rowid DESC LIMIT :limit OFFSET :offset"
    )
    return list(session.scalars(sql, {"q": expr, "limit": limit, "offset": offset}))


def _filter_like(query, kw):
    answer_user = aliased(User)
    conditions = []
    for word in query_words(kw):
        pattern = f"%{word}%"
        answered = (
            select(Answer.question_id)
            .join(answer_user, Answer.user_id == answer_user.id)
            .where(or_(Answer.content.ilike(pattern), answer_user.username.ilike(pattern)))
        )
        conditions.append(
            or_(
                Question.subject.ilike(pattern),
                Question.content.ilike(pattern),
                Question.user_id.in_(select(User.id).where(User.username.ilike(pattern))),
                Question.id.in_(answered),
            )
        )
    return query.where(and_(*conditions)) if conditions else query


def _pg_row(*texts):
    found = list(chain.from_iterable(words(t) for t in texts))
    lexemes = set()
    for word in found:
        lexemes.update(_lexemes(word))
        lexemes.add(word[-1])
    return {"lexemes": sorted(lexemes) or [" "], "body": " ".join(found)}


PG_UPSERT = text(
    "INSERT INTO question_search(question_id, tokens, body) "
    "VALUES (:id, array_to_tsvector(CAST(:lexemes AS text[])), :body) "
    "ON CONFLICT (question_id) DO UPDATE SET tokens = EXCLUDED.tokens, body = EXCLUDED.body"
)


def _document_texts(connection, question_id):
    row = connection.execute(
        select(Question.subject, Question.content, User.username)
        .join(User, Question.user_id == User.id)
        .where(Question.id == question_id)
    ).first()
    if row is None:
        return None
    answers = connection.execute(
        select(Answer.content, User.username)
        .join(User, Answer.user_id == User.id)
        .where(Answer.question_id == question_id)
    ).all()
    return [*row, *chain.from_iterable(answers)]


def _reindex_pg(connection, question_ids):
    for qid in question_ids:
        texts = _document_texts(connection, qid)
        if texts is None:
            connection.execute(
                text("DELETE FROM question_search WHERE question_id = :id"), {"id": qid}
            )
        else:
            connection.execute(PG_UPSERT, {"id": qid, **_pg_row(*texts)})


def reindex(connection, question_ids):
    """Rewrite the search documents of `question_ids` (removing deleted ones)."""
    if uses_tsvector(connection):
        _reindex_pg(connection, question_ids)
        return
    if not uses_fts(connection):
        return
    for qid in question_ids:
        connection.execute(text("DELETE FROM question_search WHERE rowid = :id"), {"id": qid})
        texts = _document_texts(connection, qid)
        if texts is not None:
            connection.execute(
                text("INSERT INTO question_search(rowid, tokens) VALUES (:id, :tokens)"),
                {"id": qid, "tokens": document_tokens(*texts)},
            )


def rebuild(connection, batch=2000):
    """Rebuild every search document (after bulk loads or a restore)."""
    if not (uses_fts(connection) or uses_tsvector(connection)):
        return 0
    ensure_index(connection)
    connection.execute(text("DELETE FROM question_search"))
    answers = {}
    for qid, content, username in connection.execute(
        select(Answer.question_id, Answer.content, User.username).join(
            User, Answer.user_id == User.id
        )
    ):
        answers.setdefault(qid, []).extend((content, username))
    rows = connection.execute(
        select(Question.id, Question.subject, Question.content, User.username).join(
            User, Question.user_id == User.id
        )
    ).all()
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        if uses_tsvector(connection):
            params = [{"id": q, **_pg_row(s, c, u, *answers.get(q, ()))} for q, s, c, u in part]
            connection.execute(PG_UPSERT, params)
            continue
        connection.execute(
            text("INSERT INTO question_search(rowid, tokens) VALUES (:id, :tokens)"),
            [
                {"id": q, "tokens": document_tokens(s, c, u, *answers.get(q, ()))}
                for q, s, c, u in part
            ],
        )
    return len(rows)


def _changed(obj, *names):
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def touched_questions(session):
    """Ids of the questions whose text (or answers' text) this flush changes."""
    ids = set()
    for obj in chain(session.new, session.deleted):
        if isinstance(obj, Question):
            ids.add(obj.id)
        elif isinstance(obj, Answer):
            ids.add(obj.question_id)
    for obj in session.dirty:
        if isinstance(obj, Question) and _changed(obj, "subject", "content", "user_id"):
            ids.add(obj.id)
        elif isinstance(obj, Answer) and _changed(
            obj, "content", "user_id", "question_id", "hidden"
        ):
            ids.add(obj.question_id)
    ids.discard(None)
    return ids


@event.listens_for(Session, "after_flush")
def _keep_index_current(session, _context):
    """Every flush that adds, edits or deletes a question or answer updates its document."""
    ids = touched_questions(session)
    if ids:
        reindex(session.connection(), sorted(ids))


def include_object(_obj, name, type_, reflected, _compare_to):
    """Alembic filter: the search tables (FTS5 and its shadow tables, or PostgreSQL's)
    and their indexes are not in the models."""
    if (
        type_ in ("table", "index")
        and reflected
        and name
        and name.startswith(("question_search", "ix_question_search"))
    ):
        return False
    return True
