"""Board models: users, questions, answers, comments and votes.

Answer and vote counts are kept on the question/answer rows (`answer_count`,
`vote_count`) so the list page can sort by them through an index instead of
aggregating 100,000 rows per request; the feature services (`pybo.answer.service`,
`pybo.vote.service`) are the one place that changes them.
"""

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from pybo.extensions import db

__all__ = [
    "User", "Question", "Answer", "Comment", "AuditLog", "QuestionView", "question_voter",
    "answer_voter",
]  # fmt: skip


def now():
    """Naive local time, as the tutorial stores it."""
    return datetime.now()


question_voter = Table(
    "question_voter",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("question_id", Integer, ForeignKey("question.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_question_voter_question_id", "question_id"),
)

answer_voter = Table(
    "answer_voter",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("answer_id", Integer, ForeignKey("answer.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_answer_voter_answer_id", "answer_id"),
)


class User(UserMixin, db.Model):
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(25), unique=True)
    password: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(120), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Built-in accounts (the AI 도우미) post but can never log in.
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    create_date: Mapped[datetime] = mapped_column(DateTime, default=now)

    def set_password(self, raw):
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password = generate_password_hash(raw, method=method)

    def check_password(self, raw):
        return check_password_hash(self.password, raw)

    def __repr__(self):
        return f"<User {self.id} {self.username}>"


class Question(db.Model):
    __table_args__ = (
        Index("ix_question_vote_count", "vote_count", "id"),
        Index("ix_question_answer_count", "answer_count", "id"),
        # the list's 해결됨/미해결 filter pages newest-first inside this index
        Index("ix_question_resolved", "resolved", "id"),
        {"sqlite_autoincrement": True},  # ids are never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    create_date: Mapped[datetime] = mapped_column(DateTime, default=now)
    modify_date: Mapped[datetime | None] = mapped_column(DateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    view_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    answer_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    vote_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # AI 답변: None (not asked) | queued | running | done | none (nothing relevant) | failed
    ai_status: Mapped[str | None] = mapped_column(String(16))
    ai_updated: Mapped[datetime | None] = mapped_column(DateTime)
    # 해결됨: one of its answers is accepted. Kept by `pybo.answer.service` beside
    # `Answer.accepted` so the list can filter through an index.
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    user: Mapped[User] = relationship(backref=db.backref("question_set", lazy="dynamic"))
    voter: Mapped[list[User]] = relationship(
        secondary=question_voter,
        backref=db.backref("question_voter_set", lazy="dynamic"),
        lazy="dynamic",
    )
    answer_set = relationship(
        "Answer", back_populates="question", cascade="all, delete-orphan", lazy="dynamic"
    )
    comment_set = relationship(
        "Comment",
        back_populates="question",
        cascade="all, delete-orphan",
        order_by="Comment.create_date",
    )

    def __repr__(self):
        return f"<Question {self.id}>"


class Answer(db.Model):
    __table_args__ = (
        Index("ix_answer_question_id", "question_id", "create_date"),
        Index("ix_answer_question_votes", "question_id", "vote_count"),
        # 채택: at most one accepted answer per question, enforced by the database
        Index(
            "ux_answer_accepted_question",
            "question_id",
            unique=True,
            sqlite_where=text("accepted"),
            postgresql_where=text("accepted"),
        ),
        {"sqlite_autoincrement": True},  # ids are never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    create_date: Mapped[datetime] = mapped_column(DateTime, default=now)
    modify_date: Mapped[datetime | None] = mapped_column(DateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    vote_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # AI answers: the citations behind [1], [2]…, and whether the question's author hid it.
    sources: Mapped[list | None] = mapped_column(JSON)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    accepted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    question: Mapped[Question] = relationship(back_populates="answer_set")
    user: Mapped[User] = relationship(backref=db.backref("answer_set", lazy="dynamic"))
    voter: Mapped[list[User]] = relationship(
        secondary=answer_voter,
        backref=db.backref("answer_voter_set", lazy="dynamic"),
        lazy="dynamic",
    )
    comment_set = relationship(
        "Comment",
        back_populates="answer",
        cascade="all, delete-orphan",
        order_by="Comment.create_date",
    )

    def __repr__(self):
        return f"<Answer {self.id}>"


class Comment(db.Model):
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    content: Mapped[str] = mapped_column(Text)
    create_date: Mapped[datetime] = mapped_column(DateTime, default=now)
    modify_date: Mapped[datetime | None] = mapped_column(DateTime)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("question.id", ondelete="CASCADE"), index=True
    )
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answer.id", ondelete="CASCADE"), index=True
    )

    user: Mapped[User] = relationship(backref=db.backref("comment_set", lazy="dynamic"))
    question: Mapped[Question | None] = relationship(back_populates="comment_set")
    answer: Mapped[Answer | None] = relationship(back_populates="comment_set")

    @property
    def target_question(self):
        """The question page this comment is shown on."""
        return self.question if self.question_id else self.answer.question

    def __repr__(self):
        return f"<Comment {self.id}>"


class QuestionView(db.Model):
    """Who saw a question lately: a view counts once per viewer (`u{user id}`, or
    `s{token}` kept in an anonymous visitor's session) per window; rows older than the
    window are deleted as new ones arrive, so the table stays small."""

    __tablename__ = "question_view"
    __table_args__ = (Index("ix_question_view_viewed_at", "viewed_at"),)

    question_id: Mapped[int] = mapped_column(
        ForeignKey("question.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    viewer: Mapped[str] = mapped_column(String(40), primary_key=True)
    viewed_at: Mapped[datetime] = mapped_column(DateTime, default=now)


class AuditLog(db.Model):
    """What an admin did to something that was not theirs (e.g. deleting a user's private
    document), kept for accountability; written by `pybo.common.audit.record`."""

    __tablename__ = "audit_log"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str] = mapped_column(Text, default="")
    create_date: Mapped[datetime] = mapped_column(DateTime, default=now, index=True)

    actor: Mapped[User | None] = relationship()
