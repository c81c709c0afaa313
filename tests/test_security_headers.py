"""Security headers, a strict CSP the pages actually satisfy, the production cookie and
how PDFs are served."""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from pybo.common.headers import CSP
from tests.fixtures.rag import document_states, login, upload, wait_jobs

ROOT = Path(__file__).resolve().parents[1]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)


def test_headers_on_pages_redirects_and_errors(client):
    for path in ("/question/list/", "/", "/no/such/page", "/auth/login/"):
        response = client.get(path)
        headers = response.headers
        assert headers["Content-Security-Policy"] == CSP, path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self';" in CSP and "frame-ancestors 'none'" in CSP
    assert "unsafe-inline" not in CSP


def _pages(app, posts):
    ids = {"question_id": posts["question"], "answer_id": posts["answer"]}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or "static" in rule.endpoint:
                continue
            values = {}
            for arg in rule.arguments:
                values[arg] = "alice" if arg == "username" else ids.get(arg, posts["qcomment"])
            yield app.url_for(rule.endpoint, **values)


@pytest.mark.parametrize("who", ["anonymous", "alice", "root"])
def test_pages_need_no_inline_script_or_style(app, client, auth, posts, who):
    """The CSP forbids inline scripts, on* handlers and style attributes: no page has one."""
    if who != "anonymous":
        auth.login(who)
    checked = 0
    for path in _pages(app, posts):
        response = client.get(path)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        for pattern in (INLINE_SCRIPT, HANDLER, STYLE_ATTR):
            assert not pattern.search(html), (path, pattern.search(html).group(0))
        checked += 1
    assert checked >= 8


def test_list_filters_submit_through_pybo_js(client):
    page = client.get("/question/list/").get_data(as_text=True)
    assert page.count("data-autosubmit") == 2
    assert "onchange" not in page


def _production_cookie_secure(**env):
    """ProductionConfig.SESSION_COOKIE_SECURE as a fresh process reads it from `env`."""
    environ = {k: v for k, v in os.environ.items() if k != "SESSION_COOKIE_SECURE"}
    code = "import config; print(config.ProductionConfig.SESSION_COOKIE_SECURE)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**environ, **env}, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def test_production_cookie_is_secure_unless_opted_out():
    assert _production_cookie_secure() == "True"
    assert _production_cookie_secure(SESSION_COOKIE_SECURE="0") == "False"


def test_run_sh_opts_out_on_plain_http():
    script = (ROOT / "shell" / "run.sh").read_text()
    prod = script[script.index('"--prod"') :]
    assert 'SESSION_COOKIE_SECURE="${SESSION_COOKIE_SECURE:-0}"' in prod


def test_pdf_is_inline_with_korean_name_and_no_active_content(rag_app, rag_client, korean_pdf):
    login(rag_client)
    upload(rag_client, korean_pdf, "계약 안내.pdf")
    wait_jobs(rag_app)
    (state,) = document_states(rag_client)
    response = rag_client.get(f"/chat/documents/{state['id']}/file")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert "sandbox" not in response.headers["Content-Security-Policy"]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline;")
    assert f"filename*=UTF-8''{quote('계약 안내.pdf')}" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
