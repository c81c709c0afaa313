"""Error pages in Korean; none of them leaks a traceback."""

import logging

from flask import render_template, request
from flask_wtf.csrf import CSRFError

from pybo.incidents import report

log = logging.getLogger(__name__)

MESSAGES = {
    400: "잘못된 요청입니다.",
    403: "권한이 없습니다.",
    404: "페이지를 찾을 수 없습니다.",
    405: "허용되지 않는 요청 방식입니다.",
    413: "요청이 너무 큽니다.",
    429: "요청이 너무 많아요. 잠시 후에 다시 시도해 주세요.",
    500: "서버 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.",
}


def render_error(code, message=None):
    template = f"errors/{code}.html" if code in (403, 404, 500) else "errors/error.html"
    message = message or MESSAGES.get(code, MESSAGES[400])
    return render_template(template, code=code, message=message), code


def _csrf_error(error):
    log.info("CSRF refused for %s %s: %s", request.method, request.path, error.description)
    return render_error(
        400, "보안 토큰이 없거나 만료되었습니다. 페이지를 새로고침한 뒤 다시 시도해 주세요."
    )


def _server_error(error):
    from pybo.extensions import db

    db.session.rollback()  # the page itself reads the session (navbar user)
    cause = getattr(error, "original_exception", None) or error
    message = report(MESSAGES[500], cause, log, method=request.method, path=request.path)
    return render_error(500, message)


def init_app(app):
    app.register_error_handler(CSRFError, _csrf_error)
    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, lambda e, code=code: render_error(code))
    app.register_error_handler(500, _server_error)
