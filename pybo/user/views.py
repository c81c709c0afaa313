from flask import Blueprint, render_template
from sqlalchemy import func, select

from pybo.common.args import page_arg
from pybo.common.paging import paginate
from pybo.extensions import db
from pybo.models import Answer, Comment, Question, User

bp = Blueprint("user", __name__, url_prefix="/user")

PER_TAB = 10


def _page(query, arg):
    return paginate(query, page_arg(arg), PER_TAB)


@bp.route("/<username>/")
def profile(username):
    user = db.first_or_404(select(User).where(User.username == username))
    questions = _page(
        select(Question).where(Question.user_id == user.id).order_by(Question.id.desc()), "qpage"
    )
    answers = _page(
        select(Answer).where(Answer.user_id == user.id).order_by(Answer.id.desc()), "apage"
    )
    comments = _page(
        select(Comment).where(Comment.user_id == user.id).order_by(Comment.id.desc()), "cpage"
    )
    accepted = db.session.scalar(
        select(func.count(Answer.id)).where(Answer.user_id == user.id, Answer.accepted)
    )
    return render_template(
        "user/profile.html",
        user=user,
        questions=questions,
        answers=answers,
        comments=comments,
        accepted=accepted,
    )
