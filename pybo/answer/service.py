"""Answer rules: create, modify, delete, and where an answer lands in the paging."""

from sqlalchemy import func, select, update

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
    db.session.delete(answer)
    db.session.flush()
    _shift_count(question_id, -1)
    db.session.commit()
    return question_id


def page_of(answer, per_page):
    """Page number of `answer` in its question's default (oldest-first) order."""
    before = db.session.scalar(
        select(func.count(Answer.id)).where(
            Answer.question_id == answer.question_id,
            (Answer.create_date < answer.create_date)
            | ((Answer.create_date == answer.create_date) & (Answer.id < answer.id)),
        )
    )
    return before // per_page + 1
