"""The assistant's routes on the board: similar questions, AI answer status and control."""

import logging
import re

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_login import login_required
from markupsafe import Markup

from pybo.assistant import ai_answer, similar
from pybo.common.args import id_arg
from pybo.common.permissions import can_edit
from pybo.extensions import db
from pybo.knowledge.providers import ModelUnavailable
from pybo.models import Answer, Question

log = logging.getLogger(__name__)
bp = Blueprint("assistant", __name__)


@bp.route("/question/similar/")
def similar_questions():
    """JSON: questions like `subject` (+ `content`), at most 5, best first."""
    subject = request.args.get("subject", "", type=str)
    content = request.args.get("content", "", type=str)
    exclude = id_arg("exclude")
    try:
        found = similar.similar_questions(subject, content, exclude=exclude)
    except ModelUnavailable:
        found = []  # no embedder yet: nothing to suggest, the form works as before
    response = jsonify(found)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/question/ai-status/<int:question_id>")
def ai_status(question_id):
    question = db.get_or_404(Question, question_id)
    status = question.ai_status
    return jsonify(status=status, text=ai_answer.STATUS_TEXT.get(status, ""))


@bp.route("/question/ai-answer/<int:question_id>", methods=("POST",))
@login_required
def request_ai_answer(question_id):
    """The question's author (or an admin) asks for an AI answer (again)."""
    question = db.get_or_404(Question, question_id)
    if not can_edit(question):
        abort(403)
    if ai_answer.mode() == "off":
        flash("AI 답변을 쓸 수 없습니다 (관리자가 끄거나 모델이 없습니다).", "warning")
    elif question.ai_status in ai_answer.WORKING:
        flash("AI 답변을 작성하는 중입니다.", "info")
    else:
        ai_answer.request_answer(question)
        flash("AI 답변을 요청했습니다.", "success")
    return redirect(url_for("question.detail", question_id=question.id))


@bp.route("/answer/hide/<int:answer_id>", methods=("POST",))
@login_required
def hide(answer_id):
    """The question's author (or an admin) hides an AI answer, or shows it again."""
    answer = db.get_or_404(Answer, answer_id)
    if not answer.user.is_bot:
        abort(404)
    if not can_edit(answer.question):
        abort(403)
    ai_answer.set_hidden(answer, not answer.hidden)
    flash("AI 답변을 숨겼습니다." if answer.hidden else "AI 답변을 다시 보입니다.", "success")
    return redirect(url_for("question.detail", question_id=answer.question_id))


CITATION = re.compile(r"\[(\d{1,2})\]")


@bp.app_template_filter("cite_links")
def cite_links(html, answer):
    """`[n]` in an AI answer's (already sanitized) HTML links to its n-th source."""
    count = len(answer.sources or [])

    def link(match):
        number = int(match.group(1))
        if not 1 <= number <= count:
            return match.group(0)
        return f'<a class="cite" href="#answer_{answer.id}_src_{number}">[{number}]</a>'

    return Markup(CITATION.sub(link, str(html)))


@bp.app_context_processor
def _assistant_globals():
    return {"ai_status_text": ai_answer.STATUS_TEXT}
