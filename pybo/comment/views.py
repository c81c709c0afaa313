"""Comments on questions and answers, under the first edition's URLs."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from pybo.answer.views import answer_url
from pybo.comment import service
from pybo.comment.forms import CommentForm
from pybo.common.permissions import require_author
from pybo.extensions import db
from pybo.models import Answer, Comment, Question

bp = Blueprint("comment", __name__, url_prefix="/comment")


def comment_url(comment):
    """The page that shows `comment`, scrolled to it."""
    if comment.answer_id:
        base = answer_url(comment.answer).split("#", 1)[0]
    else:
        base = url_for("question.detail", question_id=comment.question_id)
    return f"{base}#comment_{comment.id}"


def _form_page(form, target, comment=None):
    status = 400 if form.is_submitted() else 200
    return render_template(
        "comment/comment_form.html", form=form, target=target, comment=comment
    ), status


@bp.route("/create/question/<int:question_id>", methods=("GET", "POST"))
@login_required
def create_question(question_id):
    question = db.get_or_404(Question, question_id)
    form = CommentForm()
    if form.validate_on_submit():
        comment = service.create(current_user, form.content.data, question=question)
        return redirect(comment_url(comment))
    return _form_page(form, question)


@bp.route("/create/answer/<int:answer_id>", methods=("GET", "POST"))
@login_required
def create_answer(answer_id):
    answer = db.get_or_404(Answer, answer_id)
    form = CommentForm()
    if form.validate_on_submit():
        comment = service.create(current_user, form.content.data, answer=answer)
        return redirect(comment_url(comment))
    return _form_page(form, answer)


@bp.route("/modify/question/<int:comment_id>", methods=("GET", "POST"), endpoint="modify_question")
@bp.route("/modify/answer/<int:comment_id>", methods=("GET", "POST"), endpoint="modify_answer")
@login_required
def modify(comment_id):
    comment = require_author(db.get_or_404(Comment, comment_id))
    form = CommentForm(obj=comment)
    if form.validate_on_submit():
        service.modify(comment, form.content.data)
        flash("댓글이 수정되었습니다.", "success")
        return redirect(comment_url(comment))
    return _form_page(form, comment.answer or comment.question, comment)


@bp.route("/delete/question/<int:comment_id>", methods=("POST",), endpoint="delete_question")
@bp.route("/delete/answer/<int:comment_id>", methods=("POST",), endpoint="delete_answer")
@login_required
def delete(comment_id):
    comment = require_author(db.get_or_404(Comment, comment_id))
    question_id = comment.target_question.id
    service.delete(comment)
    flash("댓글이 삭제되었습니다.", "success")
    return redirect(url_for("question.detail", question_id=question_id))
