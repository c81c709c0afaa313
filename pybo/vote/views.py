"""Votes under the current URLs and the tutorial's (`/vote/question/<id>/`) as well as
`/question/vote/<id>/`: every form is a POST that toggles the vote."""

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, login_required

from pybo.answer.views import answer_url
from pybo.extensions import db
from pybo.models import Answer, Question
from pybo.vote import service

bp = Blueprint("vote", __name__)


def _vote(post):
    try:
        added = service.toggle(current_user, post)
    except service.SelfVoteError as exc:
        flash(str(exc), "warning")
    else:
        flash("추천했습니다." if added else "추천을 취소했습니다.", "success")


@bp.route("/vote/question/<int:question_id>", methods=("POST",))
@bp.route("/vote/question/<int:question_id>/", methods=("POST",))
@bp.route("/question/vote/<int:question_id>/", methods=("POST",))
@login_required
def question(question_id):
    post = db.get_or_404(Question, question_id)
    _vote(post)
    return redirect(url_for("question.detail", question_id=question_id))


@bp.route("/vote/answer/<int:answer_id>", methods=("POST",))
@bp.route("/vote/answer/<int:answer_id>/", methods=("POST",))
@bp.route("/answer/vote/<int:answer_id>/", methods=("POST",))
@login_required
def answer(answer_id):
    post = db.get_or_404(Answer, answer_id)
    _vote(post)
    return redirect(answer_url(post))
