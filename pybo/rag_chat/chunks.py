"""The chunk repository in the app's database (SQLite or PostgreSQL).

Same interface as `hybrid.MemoryChunks`; each write commits the rows and the owner's
version together, so a process that sees the new version also sees the rows.
"""

from sqlalchemy import delete, insert, select, update

from pybo.extensions import db
from pybo.rag_chat.hybrid import ChunkRow
from pybo.rag_chat.models import Chunk, ChunkVersion, Document

SEPARATOR = " "


def _bump(owner_id):
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        module = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
        session.execute(
            module.insert(ChunkVersion)
            .values(owner_id=owner_id, version=0)
            .on_conflict_do_nothing(index_elements=["owner_id"])
        )
    elif session.get(ChunkVersion, owner_id) is None:
        session.add(ChunkVersion(owner_id=owner_id, version=0))
        session.flush()
    session.execute(
        update(ChunkVersion)
        .where(ChunkVersion.owner_id == owner_id)
        .values(version=ChunkVersion.version + 1)
    )


class SqlChunks:
    def add(self, document_id, owner_id, filename, chunks, token_lists):
        if chunks:
            db.session.execute(
                insert(Chunk),
                [
                    {"document_id": document_id, "owner_id": owner_id, "chunk_index": c.index,
                     "page": c.page, "text": c.text, "tokens": SEPARATOR.join(tokens)}
                    for c, tokens in zip(chunks, token_lists, strict=True)
                ],
            )  # fmt: skip
        _bump(owner_id)
        db.session.commit()

    def delete(self, document_id, owner_id):
        db.session.execute(delete(Chunk).where(Chunk.document_id == document_id))
        _bump(owner_id)
        db.session.commit()

    def version(self, owner_id):
        return (
            db.session.scalar(select(ChunkVersion.version).where(ChunkVersion.owner_id == owner_id))
            or 0
        )

    def load(self, owner_id):
        rows = db.session.execute(
            select(Chunk.document_id, Chunk.chunk_index, Chunk.page, Chunk.text, Chunk.tokens,
                   Document.filename)
            .join(Document, Document.id == Chunk.document_id)
            .where(Chunk.owner_id == owner_id)
            .order_by(Chunk.id)
        )  # fmt: skip
        return [
            ChunkRow(f"{d}:{i}", d, page, i, filename, text, tokens.split(SEPARATOR))
            for d, i, page, text, tokens, filename in rows
        ]
