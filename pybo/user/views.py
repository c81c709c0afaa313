from flask import Blueprint, render_template
from sqlalchemy import select

from pybo.common.args import page_arg
from pybo.extensions import db
from pybo.models import Answer, Comment, Question, User

bp = Blueprint("user", __name__, url_prefix="/user")

PER_TAB = 10


def _page(query, arg):
    page = page_arg(arg)
    return db.paginate(query, page=page, per_page=PER_TAB, error_out=False)


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
    return render_template(
        "user/profile.html", user=user, questions=questions, answers=answers, comments=comments
    )
