"""Vote rules: one vote per user and post, a second vote withdraws it, no self-votes."""

from sqlalchemy import delete, insert, select, update

from pybo.assistant import board_index
from pybo.extensions import db
from pybo.models import Answer, Question, answer_voter, question_voter


class SelfVoteError(ValueError):
    """Raised when a user votes for their own post."""


_TABLES = {
    Question: (question_voter, question_voter.c.question_id),
    Answer: (answer_voter, answer_voter.c.answer_id),
}


def toggle(user, post):
    """Add `user`'s vote to `post`, or withdraw it if present. Returns True if added."""
    if post.user_id == user.id:
        raise SelfVoteError("본인이 작성한 글은 추천할 수 없습니다.")
    table, post_col = _TABLES[type(post)]
    mine = (table.c.user_id == user.id) & (post_col == post.id)
    voted = db.session.execute(select(table.c.user_id).where(mine)).first() is not None
    if voted:
        db.session.execute(delete(table).where(mine))
    else:
        db.session.execute(insert(table).values({"user_id": user.id, post_col.key: post.id}))
    model = type(post)
    db.session.execute(
        update(model)
        .where(model.id == post.id)
        .values(vote_count=model.vote_count + (-1 if voted else 1))
        .execution_options(synchronize_session=False)
    )
    # Answers are indexed for the assistant in vote order: the board index follows.
    board_index.request([post.question_id if model is Answer else post.id])
    db.session.commit()
    db.session.refresh(post)
    return not voted


def voted_by(user, question, answers):
    """What `user` has voted for on a question page: {"question": bool, "answers": {ids}}."""
    if not getattr(user, "is_authenticated", False):
        return {"question": False, "answers": set()}
    on_question = db.session.execute(
        select(question_voter.c.user_id).where(
            question_voter.c.user_id == user.id, question_voter.c.question_id == question.id
        )
    ).first()
    ids = [answer.id for answer in answers]
    on_answers = set()
    if ids:
        on_answers = set(
            db.session.scalars(
                select(answer_voter.c.answer_id).where(
                    answer_voter.c.user_id == user.id, answer_voter.c.answer_id.in_(ids)
                )
            )
        )
    return {"question": on_question is not None, "answers": on_answers}
