from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from pybo.answer import service
from pybo.answer.forms import AnswerForm
from pybo.common.permissions import require_author
from pybo.extensions import db
from pybo.models import Answer, Question
from pybo.question.views import note_view, render_detail

bp = Blueprint("answer", __name__, url_prefix="/answer")


def answer_url(answer):
    """The question page that shows `answer`, scrolled to it."""
    page = service.page_of(answer, current_app.config["ANSWERS_PER_PAGE"])
    return url_for(
        "question.detail",
        question_id=answer.question_id,
        page=page if page > 1 else None,
        _anchor=f"answer_{answer.id}",
    )


@bp.route("/create/<int:question_id>", methods=("POST",))
@login_required
def create(question_id):
    question = db.get_or_404(Question, question_id)
    form = AnswerForm()
    if form.validate_on_submit():
        answer = service.create(current_user, question, form.content.data)
        note_view(question.id, count=False)  # the page it lands on is not a new view
        return redirect(answer_url(answer))
    return render_detail(question, form, status=400)


@bp.route("/modify/<int:answer_id>", methods=("GET", "POST"))
@login_required
def modify(answer_id):
    answer = require_author(db.get_or_404(Answer, answer_id))
    form = AnswerForm(obj=answer)
    if form.validate_on_submit():
        service.modify(answer, form.content.data)
        flash("답변이 수정되었습니다.", "success")
        return redirect(answer_url(answer))
    return render_template("answer/answer_form.html", form=form, answer=answer), (
        400 if form.is_submitted() else 200
    )


@bp.route("/delete/<int:answer_id>", methods=("POST",))
@login_required
def delete(answer_id):
    answer = require_author(db.get_or_404(Answer, answer_id))
    question_id = service.delete(answer)
    flash("답변이 삭제되었습니다.", "success")
    return redirect(url_for("question.detail", question_id=question_id))


@bp.route("/accept/<int:answer_id>", methods=("POST",))
@login_required
def accept(answer_id):
    """채택: the question's author (or an admin) marks the answer that solved it; the
    same POST on the accepted answer undoes it."""
    answer = db.get_or_404(Answer, answer_id)
    if not service.can_accept(current_user, answer):
        abort(403)
    if service.toggle_accept(answer):
        flash("답변을 채택했습니다.", "success")
    else:
        flash("답변 채택을 취소했습니다.", "success")
    return redirect(answer_url(answer))
