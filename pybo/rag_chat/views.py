"""The chat and documents pages, the SSE endpoint and the document files."""

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
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from pybo.common.args import form_ids, id_arg
from pybo.extensions import db
from pybo.rag_chat import access, conversations, documents, runtime
from pybo.rag_chat.models import Conversation, Document, Message
from pybo.rag_chat.running import running

bp = Blueprint("rag_chat", __name__, url_prefix="/chat")


def _own_conversation(conversation_id):
    """Conversations are private: another user's id is a 404, not a hint it exists."""
    conversation = db.get_or_404(Conversation, conversation_id)
    if conversation.user_id != current_user.id:
        abort(404)
    return conversation


def _model_status():
    status = runtime.providers().status()
    config = current_app.config
    return {
        "embedding": {"problem": status["embedding"], "location": config["EMBEDDING_MODEL"]},
        "llm": {
            "problem": status["llm"],
            "location": config["LLM_BASE_URL"] or config["LLM_MODEL"],
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
        models=_model_status(),
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


def _document(document_id, rule):
    """The document when `rule(current_user, document)` allows it. A private document
    someone may not read is a 404 (its existence is private too); a readable one they
    may not change is a 403."""
    document = db.get_or_404(Document, document_id)
    if rule(current_user, document):
        return document
    if access.can_read(current_user, document) or (
        current_user.is_admin and rule is not access.can_read
    ):
        abort(403)
    abort(404)


@bp.route("/documents/")
@login_required
def document_list():
    runtime.runner()  # starts the job runner (and its recovery) with the first visit
    return render_template(
        "rag_chat/documents.html",
        documents=documents.readable_documents(current_user),
        moderation=documents.moderation_rows() if current_user.is_admin else [],
        access=access,
        models=_model_status(),
        max_mb=current_app.config["MAX_UPLOAD_MB"],
        max_pages=current_app.config["MAX_PDF_PAGES"],
    )


@bp.route("/documents/status")
@login_required
def document_status():
    return jsonify(documents=[d.progress() for d in documents.readable_documents(current_user)])


def _upload_one(file_storage, shared):
    """(ok, category, message) for one file of an upload."""
    try:
        document, created = documents.upload(current_user, file_storage, shared)
    except documents.UploadError as exc:
        name = documents.display_name(file_storage)
        return False, "danger", f"'{name}': {exc}" if name else str(exc)
    if created:
        return True, "success", f"'{document.filename}'을(를) 올렸습니다. 색인을 시작합니다."
    return True, "info", f"이미 올린 파일입니다: '{document.filename}'"


@bp.route("/documents/upload", methods=("POST",))
@login_required
def upload():
    """One or several PDFs (`file`, repeated). The page's script sends one file per
    request and asks for JSON; the plain form posts them all and gets the list back."""
    shared = current_user.is_admin and request.form.get("shared") == "1"
    files = [f for f in request.files.getlist("file") if f.filename] or [None]
    results = [_upload_one(f, shared) for f in files]
    if request.accept_mimetypes.best == "application/json":
        body = [{"ok": ok, "message": message} for ok, _, message in results]
        return jsonify(results=body), 200 if all(r["ok"] for r in body) else 400
    for _, category, message in results:
        flash(message, category)
    return redirect(url_for("rag_chat.document_list"))


@bp.errorhandler(413)
def _upload_too_large(error):
    """An upload over MAX_CONTENT_LENGTH: the documents page with a size message (the page
    script gets it as JSON), instead of a bare error page."""
    mb = current_app.config["MAX_UPLOAD_MB"]
    message = f"파일이 너무 큽니다. PDF는 한 번에 최대 {mb}MB까지 올릴 수 있어요."
    if request.accept_mimetypes.best == "application/json":
        return jsonify(results=[{"ok": False, "message": message}]), 413
    flash(message, "danger")
    return redirect(url_for("rag_chat.document_list"))


@bp.route("/documents/<int:document_id>/delete", methods=("POST",))
@login_required
def document_delete(document_id):
    document = _document(document_id, access.can_delete)
    documents.delete(current_user, document)
    flash("문서를 삭제했습니다.", "success")
    return redirect(url_for("rag_chat.document_list"))


@bp.route("/documents/<int:document_id>/reindex", methods=("POST",))
@login_required
def document_reindex(document_id):
    document = _document(document_id, access.can_manage)
    documents.reindex(document)
    flash("다시 색인합니다.", "success")
    return redirect(url_for("rag_chat.document_list"))


@bp.route("/documents/<int:document_id>/file")
@login_required
def document_file(document_id):
    document = _document(document_id, access.can_read)
    path = documents.blob_path(document.sha256)
    if not path.is_file():
        abort(404)
    # Inline, with the Korean name as `filename*=UTF-8''...` (werkzeug adds it for non-ASCII
    # names). The PDF may load nothing itself; a `sandbox` directive would stop Chromium's
    # PDF viewer, so none is set.
    response = send_file(
        path, mimetype="application/pdf", download_name=document.filename, as_attachment=False
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.route("/documents/<int:document_id>/share", methods=("POST",))
@login_required
def document_share(document_id):
    document = _document(document_id, access.can_share)
    shared = request.form.get("shared", "1") == "1"
    documents.set_shared(document, shared)
    flash("공개 자료실에 올렸습니다." if shared else "공개 자료실에서 내렸습니다.", "success")
    return redirect(url_for("rag_chat.document_list"))
