"""The documents pages on the chat blueprint: list, live status, upload (one or
several PDFs), delete, reindex, share and the PDF file itself."""

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from pybo.extensions import db
from pybo.rag_chat import access, documents, runtime
from pybo.rag_chat.models import Document
from pybo.rag_chat.views import bp, model_status


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
        models=model_status(),
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
