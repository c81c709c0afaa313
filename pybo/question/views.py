import secrets

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from pybo.answer import service as answer_service
from pybo.answer.forms import AnswerForm
from pybo.assistant import ai_answer
from pybo.common.args import page_arg
from pybo.common.permissions import require_author
from pybo.extensions import db
from pybo.models import Question
from pybo.question import service
from pybo.question.forms import QuestionForm
from pybo.vote import service as vote_service

bp = Blueprint("question", __name__, url_prefix="/question")

MAX_KW = 100


@bp.route("/list/")
def _list():
    page = page_arg()
    kw = request.args.get("kw", type=str, default="").strip()[:MAX_KW]
    so = request.args.get("so", type=str, default="latest")
    if so not in service.SORTS:
        so = "latest"
    status = request.args.get("status", type=str, default="")
    if status not in service.STATUSES:
        status = ""
    question_list = service.list_page(
        kw, so, page, current_app.config["QUESTIONS_PER_PAGE"], status=status or None
    )
    return render_template(
        "question/question_list.html",
        question_list=question_list,
        page=page,
        kw=kw,
        so=so,
        status=status,
    )


def viewer_key():
    """Who is viewing: `u{id}` for a user, else `s{token}` kept in the session."""
    if current_user.is_authenticated:
        return f"u{current_user.id}"
    if "viewer" not in session:
        session["viewer"] = secrets.token_urlsafe(16)
    return f"s{session['viewer']}"


def note_view(question_id, count=True):
    """Count a view of the question (once per viewer per window), or with `count=False`
    only note that the viewer has seen it (e.g. they just answered it)."""
    window = current_app.config["VIEW_WINDOW_MINUTES"]
    service.count_view(question_id, viewer_key(), window, count=count)


def render_detail(question, form, status=200):
    """The question page with one page of answers; shared with the answer views."""
    page = page_arg()
    so = request.args.get("so", type=str, default="old")
    if so not in service.ANSWER_SORTS:
        so = "old"
    answer_list = service.answers_page(
        question, page, so, per_page=current_app.config["ANSWERS_PER_PAGE"]
    )
    voted = vote_service.voted_by(current_user, question, answer_list.items)
    html = render_template(
        "question/question_detail.html",
        question=question,
        form=form,
        answer_list=answer_list,
        so=so,
        voted=voted,
        can_accept=answer_service.can_accept,
    )
    return html, status


@bp.route("/detail/<int:question_id>/")
def detail(question_id):
    note_view(question_id)
    question = db.get_or_404(Question, question_id)
    return render_detail(question, AnswerForm())


@bp.route("/create/", methods=("GET", "POST"))
@login_required
def create():
    form = QuestionForm()
    ai_mode = ai_answer.mode()
    if form.validate_on_submit():
        question = service.create(current_user, form.subject.data, form.content.data)
        flash("질문이 등록되었습니다.", "success")
        if ai_mode == "auto" or (ai_mode == "opt-in" and request.form.get("ai_answer") == "1"):
            ai_answer.request_answer(question)  # after the question's own commit
        return redirect(url_for("question.detail", question_id=question.id))
    return render_template("question/question_form.html", form=form, ai_mode=ai_mode), (
        400 if form.is_submitted() else 200
    )


@bp.route("/modify/<int:question_id>", methods=("GET", "POST"))
@login_required
def modify(question_id):
    question = require_author(db.get_or_404(Question, question_id))
    form = QuestionForm(obj=question)
    if form.validate_on_submit():
        service.modify(question, form.subject.data, form.content.data)
        flash("질문이 수정되었습니다.", "success")
        return redirect(url_for("question.detail", question_id=question.id))
    return render_template("question/question_form.html", form=form, question=question), (
        400 if form.is_submitted() else 200
    )


@bp.route("/delete/<int:question_id>", methods=("POST",))
@login_required
def delete(question_id):
    question = require_author(db.get_or_404(Question, question_id))
    service.delete(question)
    flash("질문이 삭제되었습니다.", "success")
    return redirect(url_for("question._list"))
