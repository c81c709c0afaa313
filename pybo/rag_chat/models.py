"""RAG tables: documents (with ingestion state), conversations and messages."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pybo.extensions import db
from pybo.models import User, now

__all__ = [
    "Document", "Chunk", "IndexLog", "IndexSpace", "Conversation", "Message",
    "conversation_document",
]  # fmt: skip

PENDING, PROCESSING, READY, FAILED = "pending", "processing", "ready", "failed"
STATUSES = (PENDING, PROCESSING, READY, FAILED)
STATUS_LABELS = {PENDING: "대기 중", PROCESSING: "처리 중", READY: "완료", FAILED: "실패"}

conversation_document = Table(
    "conversation_document",
    db.metadata,
    Column(
        "conversation_id",
        Integer,
        ForeignKey("conversation.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("document_id", Integer, ForeignKey("document.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_conversation_document_document_id", "document_id"),
)


class Document(db.Model):
    __table_args__ = (
        UniqueConstraint("user_id", "sha256", name="uq_document_user_sha256"),
        Index("ix_document_status", "status"),
        {"sqlite_autoincrement": True},  # ids key files and vectors: never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    # Shared library (공개 자료): readable by every logged-in user, managed by admins.
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0", index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)
    pages_total: Mapped[int] = mapped_column(Integer, default=0)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    job_token: Mapped[str | None] = mapped_column(String(36))  # the job that holds the lease
    create_date: Mapped[datetime] = mapped_column(DateTime, default=now)
    update_date: Mapped[datetime] = mapped_column(DateTime, default=now, onupdate=now)

    user: Mapped[User] = relationship(backref=db.backref("document_set", lazy="dynamic"))

    def percent(self):
        """0-100: extraction is the first fifth of the work, embedding the rest."""
        if self.status == READY:
            return 100
        if self.status != PROCESSING:
            return 0
        if self.chunks_total:
            return round(20 + 80 * self.chunks_done / self.chunks_total)
        return round(20 * self.pages_done / self.pages_total) if self.pages_total else 0

    def detail(self):
        """One line in Korean about where the document stands."""
        if self.status == READY:
            text = f"{self.pages_total}쪽, 청크 {self.chunks_total}개"
        elif self.status == PROCESSING:
            text = f"페이지 {self.pages_done}/{self.pages_total}"
            if self.chunks_total:
                text += f", 청크 {self.chunks_done}/{self.chunks_total}"
        elif self.status == FAILED:
            text = self.error or "실패"
        else:
            text = "순서를 기다리는 중"
        return f"{text} · {self.warning}" if self.warning else text

    def progress(self):
        """JSON-ready state for the documents page."""
        return {
            "label": STATUS_LABELS[self.status],
            "percent": self.percent(),
            "detail": self.detail(),
            "id": self.id,
            "filename": self.filename,
            "status": self.status,
            "error": self.error,
            "warning": self.warning,
            "pages_total": self.pages_total,
            "pages_done": self.pages_done,
            "chunks_total": self.chunks_total,
            "chunks_done": self.chunks_done,
        }


class Chunk(db.Model):
    """A chunk's text and Kiwi morphemes in its space: the lexical index's source of truth.

    The vectors of the same chunks live in Chroma, in the space's collection, under the
    same key `"{source}:{chunk_index}"`. Board chunks carry the question and answer they
    cite; PDF chunks their document."""

    __tablename__ = "rag_chunk"
    __table_args__ = (
        UniqueConstraint("space", "source", "chunk_index", name="uq_rag_chunk_space_source_chunk"),
        Index("ix_rag_chunk_space_id", "space", "id"),
        Index("ix_rag_chunk_space_source", "space", "source"),
        Index("ix_rag_chunk_document_id", "document_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(40))
    chunk_index: Mapped[int] = mapped_column(Integer)
    page: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255), default="")
    text: Mapped[str] = mapped_column(Text)
    tokens: Mapped[str] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(Integer)
    answer_id: Mapped[int | None] = mapped_column(Integer)


class IndexLog(db.Model):
    """One row per change to a source's chunks: processes that cache a space's lexical
    index re-read only the sources logged after the position they hold. Ids are never
    reused (AUTOINCREMENT), or a process could miss a change."""

    __tablename__ = "rag_index_log"
    __table_args__ = (
        Index("ix_rag_index_log_space_id", "space", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(40))
    create_date: Mapped[datetime] = mapped_column(DateTime, default=now)


class IndexSpace(db.Model):
    """Per space: the newest log id removed by pruning. A process positioned before it
    cannot catch up from the log and rebuilds the space's index."""

    __tablename__ = "rag_index_space"

    space: Mapped[str] = mapped_column(String(40), primary_key=True)
    pruned_through: Mapped[int] = mapped_column(Integer, default=0)


class Conversation(db.Model):
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100), default="새 대화")
    # What the assistant searches: chosen documents (own or shared) when `documents` is not
    # empty, else the kinds switched on here; the board can be added either way.
    all_documents: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    use_private: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    use_shared: Mapped[bool] = mapped_column(Boolean, default=True, server_default="0")
    use_board: Mapped[bool] = mapped_column(Boolean, default=True, server_default="0")
    create_date: Mapped[datetime] = mapped_column(DateTime, default=now)
    update_date: Mapped[datetime] = mapped_column(DateTime, default=now)

    user: Mapped[User] = relationship()
    documents: Mapped[list[Document]] = relationship(secondary=conversation_document)
    messages: Mapped[list["Message"]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", order_by="Message.id"
    )


class Message(db.Model):
    __table_args__ = (
        Index("ix_message_conversation_id", "conversation_id", "id"),
        {"sqlite_autoincrement": True},  # ids are never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # "user" | "assistant"
    content: Mapped[str] = mapped_column(Text)
    condensed_question: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list | None] = mapped_column(JSON)
    # complete | stopped | error | streaming (being written by `owner`) | interrupted
    status: Mapped[str] = mapped_column(String(16), default="complete")
    feedback: Mapped[int | None] = mapped_column(Integer)  # 1 up, -1 down
    owner: Mapped[str | None] = mapped_column(String(128))  # host:pid:start of the writer
    create_date: Mapped[datetime] = mapped_column(DateTime, default=now)
    update_date: Mapped[datetime | None] = mapped_column(DateTime, default=now, onupdate=now)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
