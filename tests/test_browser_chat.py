"""The chat in a real browser (Playwright driving Debian's Chromium, gunicorn, tiny
models): the first question's title appears without a reload, Enter sends and
Shift+Enter breaks the line, citations open in the side panel, answers regenerate in
place, uploads show a bar per file, the phone layout has a drawer, and the page works
before (without) its script."""

import base64
import json
import re
import time

import pytest

from tests.fixtures.pdfs import KOREAN_PAGES, pdf_bytes
from tests.test_browser import ARTIFACTS, CHROMIUM, browser, login  # noqa: F401 (fixtures)
from tests.test_browser import page as page  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason="no Chromium"),
]
QUESTION = "정기예금 금리는 얼마인가요?"
SPACE = "두 번째 문서: 우주선 설계도와 엔진 출력 계산표가 들어 있습니다."


def _upload_ready(live_server, username="alice"):
    """Upload the Korean PDF over HTTP and wait until it is indexed."""
    session = live_server.session(username)
    token = live_server.csrf(session, "/chat/documents/")
    response = session.post(
        live_server.url + "/chat/documents/upload",
        data={"csrf_token": token},
        files={"file": ("은행.pdf", pdf_bytes(KOREAN_PAGES), "application/pdf")},
        headers={"Accept": "application/json"},
    )
    assert response.ok, response.text
    deadline = time.time() + 120
    while time.time() < deadline:
        states = session.get(live_server.url + "/chat/documents/status").json()["documents"]
        if states and all(d["status"] == "ready" for d in states):
            return
        time.sleep(0.3)
    raise AssertionError(live_server.log_path.read_text()[-2000:])


def _ask(page, question):
    page.fill("#question", question)
    page.press("#question", "Enter")
    answer = page.locator(".message-assistant").last
    answer.locator(".message-actions").wait_for()  # the done event
    return answer


def test_first_question_citations_regenerate_edit_and_copy(page, live_server, tmp_path):
    url = live_server.url
    login(page, url, "alice")
    # several files at once, one progress bar each
    paths = []
    for name, pages in (("은행.pdf", KOREAN_PAGES), ("우주.pdf", [SPACE])):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(pdf_bytes(pages))
    page.goto(url + "/chat/documents/")
    page.set_input_files("#file", [str(p) for p in paths])
    with page.expect_navigation():  # all sent: the page reloads to show indexing
        page.click("#upload-button")
    rows = page.locator("#documents tbody tr[data-id]")
    assert rows.count() == 2
    for i in range(2):
        rows.nth(i).locator(".badge", has_text="완료").wait_for(timeout=120_000)

    page.goto(url + "/chat/")
    page.evaluate("window.__samePage = true")
    page.fill("#question", "첫 줄")
    page.press("#question", "Shift+Enter")  # a line break, not a send
    page.keyboard.type("둘째 줄")
    assert page.input_value("#question") == "첫 줄\n둘째 줄"
    assert page.locator(".message-user").count() == 0
    answer = _ask(page, QUESTION)
    title = page.locator("#conversation-list li.active a")
    assert title.inner_text() == QUESTION  # the list shows it at once
    assert page.evaluate("window.__samePage") is True  # no reload happened
    assert re.search(r"/chat/\?c=\d+$", page.url)
    assert page.locator(".message-user").count() == 1
    assert answer.locator(".content").inner_text().strip()

    citation = answer.locator(".sources a.citation").first
    citation.click()
    panel = page.locator("#citation-panel")
    panel.locator(".citation-open").wait_for(state="visible")
    assert panel.locator(".citation-file").inner_text() in ("은행.pdf", "우주.pdf")
    assert re.fullmatch(r"\d+쪽", panel.locator(".citation-page").inner_text())
    assert panel.locator(".citation-snippet").inner_text().strip()
    assert re.search(
        r"/chat/documents/\d+/file#page=\d+$", panel.locator(".citation-open").get_attribute("href")
    )
    panel.locator(".btn-close").click()
    panel.wait_for(state="hidden")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    answer.locator(".copy-answer").click()
    page.wait_for_selector(".copy-answer:has-text('복사됨')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied and copied == answer.locator(".content").inner_text().strip()

    old_id = answer.get_attribute("data-message-id")
    answer.locator("button:has-text('다시 생성')").click()
    page.wait_for_function(
        "id => { const a = document.querySelectorAll('.message-assistant');"
        " return a.length === 1 && a[0].dataset.messageId && a[0].dataset.messageId !== id"
        " && a[0].querySelector('.message-actions'); }",
        arg=old_id,
    )
    assert page.locator(".message-user").count() == 1

    edited = "적금 금리는 얼마인가요?"
    page.click(".message-user .edit-question summary")
    page.fill(".edit-form textarea", edited)
    page.press(".edit-form textarea", "Enter")
    page.wait_for_function(
        "text => { const a = document.querySelectorAll('.message-assistant');"
        " return a.length === 1 && a[0].querySelector('.message-actions')"
        " && document.querySelector('.message-user .content').textContent === text; }",
        arg=edited,
    )
    assert page.locator(".message-user").count() == 1

    page.reload()  # what was streamed is what was stored
    assert page.locator(".message-user").count() == 1
    assert page.locator(".message-user .content").inner_text().strip() == edited
    assert page.locator(".message-assistant").count() == 1
    assert page.locator("#conversation-list a", has_text=QUESTION).count() == 1


def test_phone_layout_has_a_drawer_and_no_sideways_scroll(browser, live_server):  # noqa: F811
    _upload_ready(live_server)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="ko-KR", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        login(page, live_server.url, "alice")
        page.goto(live_server.url + "/chat/")
        drawer = page.locator("#conversations")
        assert not drawer.is_visible()
        _ask(page, QUESTION)
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width
        send = page.locator("#ask-button").bounding_box()
        box = page.locator("#question").bounding_box()
        assert send["width"] >= 56 and box["width"] >= 200, (send, box)
        assert send["x"] + send["width"] <= 390
        page.click("button:has-text('대화 목록')")
        drawer.locator("a", has_text=QUESTION).wait_for(state="visible")
        assert drawer.locator("#new-chat").is_visible()
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=True)
        raise
    finally:
        context.close()


def test_form_works_without_the_script(browser, live_server):  # noqa: F811
    _upload_ready(live_server)
    context = browser.new_context(java_script_enabled=False, locale="ko-KR")
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        login(page, live_server.url, "alice")
        page.goto(live_server.url + "/chat/")
        page.fill("#question", QUESTION)
        with page.expect_navigation():
            page.click("#ask-button")
        assert re.search(r"/chat/\?c=\d+$", page.url)
        assert page.locator(".message-user", has_text=QUESTION).count() == 1
        assert page.locator(".message-assistant .content").inner_text().strip()
        assert page.locator("#conversation-list a", has_text=QUESTION).count() == 1
    finally:
        context.close()


@pytest.fixture
def long_answers(monkeypatch):
    """The live server (started after this fixture) lets answers run long enough to stop."""
    monkeypatch.setenv("LIVE_MAX_NEW_TOKENS", "3000")


def test_stop_keeps_the_partial_answer(long_answers, page, live_server):  # noqa: F811
    _upload_ready(live_server)
    login(page, live_server.url, "alice")
    page.goto(live_server.url + "/chat/")
    page.fill("#question", QUESTION)
    page.press("#question", "Enter")
    answer = page.locator(".message-assistant").last
    answer.locator(".content").filter(has_text=re.compile(".")).wait_for()  # tokens arrive
    page.click("#stop-button")
    answer.locator(".who", has_text="(중단됨)").wait_for()
    assert page.locator("#stop-button").is_hidden()
    partial = answer.locator(".content").inner_text().strip()
    assert partial
    page.reload()
    again = page.locator(".message-assistant").last
    assert "(중단됨)" in again.locator(".who").inner_text()
    assert again.locator(".content").inner_text().strip() == partial


RECORD_UPLOADS = """() => {
  // Remember, across the reload that follows, what the upload list showed.
  new MutationObserver(() => {
    const items = [...document.querySelectorAll('#upload-list .upload-item')];
    sessionStorage.setItem('uploads', JSON.stringify(items.map((item) => ({
      name: item.querySelector('.upload-name').textContent,
      percent: item.querySelector('.progress').getAttribute('aria-valuenow'),
      result: item.dataset.result || '',
    }))));
  }).observe(document.getElementById('upload-list'), {subtree: true, childList: true,
    attributes: true, characterData: true});
}"""

DROP = """([zone, files]) => {
  const transfer = new DataTransfer();
  for (const [name, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, {type: 'application/pdf'}));
  }
  const target = document.querySelector(zone);
  target.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true}));
  target.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
}"""


def test_drop_several_files_with_a_bar_each(page, live_server):  # noqa: F811
    login(page, live_server.url, "alice")
    page.goto(live_server.url + "/chat/documents/")
    page.evaluate(RECORD_UPLOADS)
    files = [
        ["은행.pdf", base64.b64encode(pdf_bytes(KOREAN_PAGES)).decode()],
        ["우주.pdf", base64.b64encode(pdf_bytes([SPACE])).decode()],
    ]
    with page.expect_navigation():  # both sent: the page reloads to show the indexing
        page.evaluate(DROP, ["#drop-zone", files])
    # aria-valuenow is only set by XHR upload progress events
    shown = json.loads(page.evaluate("sessionStorage.getItem('uploads')"))
    assert shown == [
        {"name": "은행.pdf", "percent": "100", "result": "ok"},
        {"name": "우주.pdf", "percent": "100", "result": "ok"},
    ]
    rows = page.locator("#documents tbody tr[data-id]")
    assert rows.count() == 2
    for i in range(2):
        rows.nth(i).locator(".badge", has_text="완료").wait_for(timeout=180_000)


@pytest.fixture
def broken_answers(monkeypatch):
    """The live server (started after this fixture) fails every answer: a negative
    token budget makes the model's generate() refuse to run."""
    monkeypatch.setenv("LIVE_MAX_NEW_TOKENS", "-1")


def test_failed_answer_offers_a_retry_in_place(broken_answers, page, live_server):  # noqa: F811
    _upload_ready(live_server)
    login(page, live_server.url, "alice")
    page.goto(live_server.url + "/chat/")
    page.fill("#question", QUESTION)
    page.press("#question", "Enter")
    notice = page.locator("#messages .retry-alert")
    notice.wait_for()
    assert "참조 번호" in notice.inner_text()
    assert page.locator(".message-assistant").count() == 0  # no empty 챗봇 bubble
    notice.locator("button:has-text('다시 시도')").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#messages .retry-alert').length === 1"
        " && !document.getElementById('ask-button').disabled"
    )
    assert page.locator(".message-user").count() == 1  # the question is not repeated
    assert page.locator(".message-assistant").count() == 0
    page.reload()
    assert page.locator(".message-user").count() == 1
    assert "답변을 받지 못했습니다" in page.locator("#messages .retry-alert").inner_text()


def test_stop_without_the_stop_request_closes_the_stream(long_answers, page, live_server):  # noqa: F811
    """When the stop request cannot reach the process generating (another worker, a
    network error), closing the stream stops the answer; the page keeps the text."""
    _upload_ready(live_server)
    login(page, live_server.url, "alice")
    page.goto(live_server.url + "/chat/")
    page.route("**/stop", lambda route: route.abort())
    page.fill("#question", QUESTION)
    page.press("#question", "Enter")
    answer = page.locator(".message-assistant").last
    answer.locator(".content").filter(has_text=re.compile(".")).wait_for()
    page.click("#stop-button")
    answer.locator(".who", has_text="(중단됨)").wait_for()
    assert answer.locator(".content").inner_text().strip()
    assert page.locator(".retry-alert").count() == 0
    answer.locator("button:has-text('다시 생성')").wait_for()
    # The server notices the closed stream at its next write ("작성 중" until then)
    # and keeps the partial answer as 중단됨.
    deadline = time.time() + 60
    while True:
        page.reload()
        again = page.locator(".message-assistant").last
        if "(작성 중)" not in again.locator(".who").inner_text() or time.time() > deadline:
            break
        page.wait_for_timeout(500)
    assert "(중단됨)" in again.locator(".who").inner_text()
    assert again.locator(".content").inner_text().strip()
