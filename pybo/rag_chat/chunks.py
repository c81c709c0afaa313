"""The chunk repository in the app's database (SQLite or PostgreSQL).

Same interface as `knowledge.hybrid.MemoryChunks`. Every write changes a source's rows
and appends a log entry for it in the same transaction, so a process that sees the
entry also sees the rows; processes holding a cached lexical index re-read only the
sources logged since their position (`changes`).
"""

from datetime import timedelta

from sqlalchemy import delete, func, insert, select, update

from pybo.extensions import db
from pybo.knowledge.hybrid import ChunkRow
from pybo.knowledge.store import chunk_key
from pybo.models import now
from pybo.rag_chat.models import Chunk, IndexLog, IndexSpace

SEPARATOR = " "
LOG_DAYS = 7  # log entries older than this are pruned (see `prune`)
PRUNE_EVERY = 1000  # log ids: every this many writes, prune once


def _log(*entries):
    """Append (space, source) log entries; now and then prune old ones."""
    for space, source in entries:
        result = db.session.execute(insert(IndexLog).values(space=space, source=source))
        log_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        if log_id and log_id % PRUNE_EVERY == 0:
            prune(now() - timedelta(days=LOG_DAYS))


def prune(before):
    """Delete log entries older than `before`, remembering per space the newest pruned id
    (a process positioned before it rebuilds instead of reading a gap)."""
    pruned = db.session.execute(
        select(IndexLog.space, func.max(IndexLog.id))
        .where(IndexLog.create_date < before)
        .group_by(IndexLog.space)
    ).all()
    for space, through in pruned:
        state = db.session.get(IndexSpace, space)
        if state is None:
            db.session.add(IndexSpace(space=space, pruned_through=through))
        else:
            state.pruned_through = max(state.pruned_through, through)
        db.session.execute(delete(IndexLog).where(IndexLog.space == space, IndexLog.id <= through))


def _rows(target, chunks, token_lists):
    return [
        {"space": target.space, "source": target.source, "chunk_index": c.index,
         "page": c.page, "title": target.title[:255], "text": c.text,
         "tokens": SEPARATOR.join(tokens), "document_id": target.document_id,
         "question_id": target.question_id, "answer_id": c.anchor}
        for c, tokens in zip(chunks, token_lists, strict=True)
    ]  # fmt: skip


class SqlChunks:
    def add(self, target, chunks, token_lists):
        self.add_many([(target, chunks, token_lists)])

    def add_many(self, items):
        """Rows of several sources in one transaction: [(target, chunks, token_lists)]."""
        rows = [row for target, chunks, tokens in items for row in _rows(target, chunks, tokens)]
        if rows:
            db.session.execute(insert(Chunk), rows)
        _log(*[(target.space, target.source) for target, _, _ in items])
        db.session.commit()

    def replace(self, target, chunks, token_lists):
        """A source's rows swapped for new ones in one transaction (readers never see it
        half-written)."""
        db.session.execute(
            delete(Chunk).where(Chunk.space == target.space, Chunk.source == target.source)
        )
        self.add(target, chunks, token_lists)

    def clear(self, space):
        """Remove a whole space (before a full rebuild). Its history goes too, so cached
        indexes of other processes rebuild."""
        db.session.execute(delete(Chunk).where(Chunk.space == space))
        # Every process positioned at or before the newest entry must rebuild: mark one
        # past it as pruned (later entries get higher ids, they are never reused).
        barrier = self.head(space) + 1
        db.session.execute(delete(IndexLog).where(IndexLog.space == space))
        state = db.session.get(IndexSpace, space)
        if state is None:
            db.session.add(IndexSpace(space=space, pruned_through=barrier))
        else:
            state.pruned_through = max(state.pruned_through, barrier)
        db.session.commit()

    def delete(self, space, source):
        db.session.execute(delete(Chunk).where(Chunk.space == space, Chunk.source == source))
        _log((space, source))
        db.session.commit()

    def move(self, source, old_space, new_space, title=None):
        """Move a source's rows to another space (sharing a document)."""
        values = {"space": new_space} if title is None else {"space": new_space, "title": title}
        db.session.execute(
            update(Chunk).where(Chunk.space == old_space, Chunk.source == source).values(values)
        )
        _log((old_space, source), (new_space, source))
        db.session.commit()

    def head(self, space):
        return db.session.scalar(select(func.max(IndexLog.id)).where(IndexLog.space == space)) or 0

    def changes(self, space, since):
        """(new head, sources changed after `since`), or None when pruning removed part
        of that history."""
        pruned = db.session.scalar(
            select(IndexSpace.pruned_through).where(IndexSpace.space == space)
        )
        if pruned and since < pruned:
            return None
        entries = db.session.execute(
            select(IndexLog.id, IndexLog.source).where(IndexLog.space == space, IndexLog.id > since)
        ).all()
        if not entries:
            return since, []
        return max(i for i, _ in entries), sorted({source for _, source in entries})

    def load(self, space, sources=None):
        """(head, rows): the head is read first, so a write that lands while the rows are
        read is logged after it and re-read at the next catch-up."""
        head = self.head(space)
        query = (
            select(Chunk.source, Chunk.chunk_index, Chunk.page, Chunk.title, Chunk.text,
                   Chunk.tokens, Chunk.document_id, Chunk.question_id, Chunk.answer_id)
            .where(Chunk.space == space)
            .order_by(Chunk.id)
        )  # fmt: skip
        if sources is not None:
            query = query.where(Chunk.source.in_(list(sources)))
        rows = [
            ChunkRow(chunk_key(source, index), source, page, index, title, text,
                     tokens.split(SEPARATOR), document_id, question_id, answer_id)
            for source, index, page, title, text, tokens, document_id, question_id, answer_id
            in db.session.execute(query)
        ]  # fmt: skip
        return head, rows
