"""The chat page and its actions: the SSE endpoints (ask, regenerate, edit), stop,
conversation settings and feedback. The documents pages live in `document_views`."""

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from pybo.common.args import form_ids, id_arg
from pybo.extensions import db
from pybo.rag_chat import conversations, documents, runtime
from pybo.rag_chat.models import Conversation, Message
from pybo.rag_chat.running import running

bp = Blueprint("rag_chat", __name__, url_prefix="/chat")


def _own_conversation(conversation_id):
    """Conversations are private: another user's id is a 404, not a hint it exists."""
    conversation = db.get_or_404(Conversation, conversation_id)
    if conversation.user_id != current_user.id:
        abort(404)
    return conversation


def model_status():
    status = runtime.providers().status()
    config = current_app.config
    return {
        "embedding": {"problem": status["embedding"], "location": config["EMBEDDING_MODEL"]},
        "llm": {
            "problem": status["llm"],
            # A served model: the setting's name, not the (internal) server address.
            "location": "LLM_BASE_URL" if config["LLM_BASE_URL"] else config["LLM_MODEL"],
        },
    }


def scope_label(conversation):
    """`검색 범위:` summary of a conversation, in words."""
    parts = []
    if conversation.documents:
        parts.append(", ".join(d.filename for d in conversation.documents))
    else:
        kinds = ((conversation.use_private, "내 문서"), (conversation.use_shared, "공개 자료"))
        parts += [label for on, label in kinds if on]
    if conversation.use_board:
        parts.append("게시판")
    return " + ".join(parts) or "없음 (아래에서 고르세요)"


@bp.app_context_processor
def _chat_helpers():
    return {"scope_label": scope_label}


@bp.route("/")
@login_required
def chat():
    conversation_id = id_arg("c")
    conversation = _own_conversation(conversation_id) if conversation_id else None
    return render_template(
        "rag_chat/chat.html",
        conversations=conversations.for_user(current_user),
        conversation=conversation,
        documents=documents.readable_documents(current_user),
        models=model_status(),
    )


def _scope_form():
    """(document ids, kinds) from the scope picker; unknown kinds are ignored."""
    kinds = [k for k in request.form.getlist("kinds") if k in conversations.SCOPE_KINDS]
    return form_ids("document_ids"), kinds


@bp.route("/new", methods=("POST",))
@login_required
def new():
    ids, kinds = _scope_form()
    conversation = conversations.create(
        current_user, ids, kinds if "kinds" in request.form else None
    )
    return redirect(url_for("rag_chat.chat", c=conversation.id))


@bp.route("/<int:conversation_id>/scope", methods=("POST",))
@login_required
def scope(conversation_id):
    conversation = _own_conversation(conversation_id)
    ids, kinds = _scope_form()
    conversations.set_scope(conversation, current_user, ids, kinds)
    flash("검색할 문서를 바꿨습니다.", "success")
    return redirect(url_for("rag_chat.chat", c=conversation.id))


@bp.route("/<int:conversation_id>/rename", methods=("POST",))
@login_required
def rename(conversation_id):
    conversation = _own_conversation(conversation_id)
    try:
        conversations.rename(conversation, request.form.get("title"))
    except conversations.AskError as exc:
        flash(str(exc), "danger")
    return redirect(url_for("rag_chat.chat", c=conversation.id))


@bp.route("/<int:conversation_id>/delete", methods=("POST",))
@login_required
def delete(conversation_id):
    conversations.delete(_own_conversation(conversation_id))
    flash("대화를 삭제했습니다.", "success")
    return redirect(url_for("rag_chat.chat"))


def _wants_stream():
    """fetch() asks for server-sent events (JSON body or Accept header); a plain form
    post (the page before its script loaded) gets the answer page instead."""
    return request.is_json or request.accept_mimetypes.best == "text/event-stream"


def _respond(job):
    """Stream `job`'s answer as SSE, or generate it and redirect to the conversation."""
    app = current_app._get_current_object()
    if _wants_stream():
        body = stream_with_context(conversations.stream(app, job))
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return Response(body, mimetype="text/event-stream", headers=headers)
    for chunk in conversations.stream(app, job):
        if chunk.startswith("event: error"):
            flash(json.loads(chunk.split("data: ", 1)[1])["message"], "danger")
    return redirect(url_for("rag_chat.chat", c=job["conversation_id"]))


def _refused(exc, conversation_id=None):
    if _wants_stream():
        return jsonify(error=str(exc)), 400
    flash(str(exc), "danger")
    return redirect(url_for("rag_chat.chat", c=conversation_id))


def _payload():
    return request.get_json(silent=True) or request.form


@bp.route("/ask", methods=("POST",))
@login_required
def start():
    """The first question creates the conversation (its first event says so)."""
    payload = _payload()
    if request.is_json:
        ids = [int(i) for i in payload.get("document_ids") or [] if str(i).isdigit()]
        kinds = payload.get("kinds")
        kinds = [k for k in kinds if k in conversations.SCOPE_KINDS] if kinds is not None else None
    else:
        ids, kinds = _scope_form()
        kinds = kinds if "kinds" in request.form else None
    try:
        job = conversations.start(current_user, payload.get("question"), ids, kinds)
    except conversations.AskError as exc:
        return _refused(exc)
    return _respond(job)


@bp.route("/<int:conversation_id>/ask", methods=("POST",))
@login_required
def ask(conversation_id):
    conversation = _own_conversation(conversation_id)
    try:
        job = conversations.prepare(conversation, _payload().get("question"))
    except conversations.AskError as exc:
        return _refused(exc, conversation_id)
    return _respond(job)


@bp.route("/<int:conversation_id>/regenerate", methods=("POST",))
@login_required
def regenerate(conversation_id):
    """A new answer to the last question replaces the old one (also: retry)."""
    conversation = _own_conversation(conversation_id)
    try:
        job = conversations.regenerate(conversation)
    except conversations.AskError as exc:
        return _refused(exc, conversation_id)
    return _respond(job)


@bp.route("/<int:conversation_id>/edit", methods=("POST",))
@login_required
def edit(conversation_id):
    """The last question, corrected, is answered again in place."""
    conversation = _own_conversation(conversation_id)
    try:
        job = conversations.edit(conversation, _payload().get("question"))
    except conversations.AskError as exc:
        return _refused(exc, conversation_id)
    return _respond(job)


@bp.route("/<int:conversation_id>/stop", methods=("POST",))
@login_required
def stop(conversation_id):
    """Stop the answer being generated; its partial text is kept as 중단됨."""
    conversation = _own_conversation(conversation_id)
    stopped = running.cancel(conversation.id)
    if _wants_stream() or request.accept_mimetypes.best == "application/json":
        return jsonify(stopped=stopped)
    return redirect(url_for("rag_chat.chat", c=conversation.id))


@bp.route("/message/<int:message_id>/feedback", methods=("POST",))
@login_required
def feedback(message_id):
    message = db.get_or_404(Message, message_id)
    if message.conversation.user_id != current_user.id or message.role != "assistant":
        abort(404)
    payload = request.get_json(silent=True) or request.form
    conversations.set_feedback(message, payload.get("value"))
    return jsonify(feedback=message.feedback)


# The documents pages share this blueprint (same endpoints); importing registers them.
from pybo.rag_chat import document_views  # noqa: E402, F401
