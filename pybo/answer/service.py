"""Answer rules: create, modify, delete, accept (채택), and where an answer lands in the
paging (the accepted answer is shown first)."""

from sqlalchemy import func, select, update

from pybo.assistant import board_index
from pybo.extensions import db
from pybo.models import Answer, Question, now


def _shift_count(question_id, delta):
    db.session.execute(
        update(Question)
        .where(Question.id == question_id)
        .values(answer_count=Question.answer_count + delta)
        .execution_options(synchronize_session=False)
    )


def create(user, question, content):
    return add(Answer(question=question, content=content, user=user, create_date=now()))


def add(answer):
    """Save a new answer and count it on its question (people's and the AI 도우미's)."""
    db.session.add(answer)
    db.session.flush()
    _shift_count(answer.question_id, 1)
    db.session.commit()
    return answer


def modify(answer, content):
    answer.content = content
    answer.modify_date = now()
    db.session.commit()
    return answer


def delete(answer):
    question_id = answer.question_id
    was_accepted = answer.accepted
    db.session.delete(answer)
    db.session.flush()
    _shift_count(question_id, -1)
    if was_accepted:
        _set_resolved(question_id, False)
    db.session.commit()
    return question_id


def can_accept(user, answer):
    """Only the question's author (or an admin) chooses the accepted answer."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_admin) or answer.question.user_id == user.id


def _set_resolved(question_id, resolved):
    db.session.execute(
        update(Question)
        .where(Question.id == question_id)
        .values(resolved=resolved)
        .execution_options(synchronize_session=False)
    )


def toggle_accept(answer):
    """Accept `answer`, or undo it if it is the accepted one; accepting another answer
    moves the mark in the same transaction. Returns True if `answer` is now accepted."""
    question_id = answer.question_id
    accepted = not answer.accepted
    # Clear the old mark first (flushed), so the partial unique index never sees two.
    db.session.execute(
        update(Answer)
        .where(Answer.question_id == question_id, Answer.accepted)
        .values(accepted=False)
        .execution_options(synchronize_session=False)
    )
    if accepted:
        db.session.execute(
            update(Answer)
            .where(Answer.id == answer.id)
            .values(accepted=True)
            .execution_options(synchronize_session=False)
        )
    _set_resolved(question_id, accepted)
    # The assistant indexes the accepted answer first (and AI answers only once accepted).
    board_index.request([question_id])
    db.session.commit()
    db.session.refresh(answer)
    return accepted


def page_of(answer, per_page):
    """Page number of `answer` in its question's default order: the accepted answer
    first, then oldest first."""
    if answer.accepted:
        return 1
    before = db.session.scalar(
        select(func.count(Answer.id)).where(
            Answer.question_id == answer.question_id,
            Answer.accepted
            | (Answer.create_date < answer.create_date)
            | ((Answer.create_date == answer.create_date) & (Answer.id < answer.id)),
        )
    )
    return before // per_page + 1
