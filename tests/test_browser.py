"""Real-browser flows (Playwright driving Debian's Chromium) against gunicorn on loopback.

Screenshots of failed tests go to test-artifacts/.
"""

import os
import re
from pathlib import Path

import pytest

from tests.fixtures.pdfs import KOREAN_PAGES, pdf_bytes

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _csp_refusal(text):
    return "Content Security Policy" in text or text.startswith("Refused to")


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ko-KR")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "정말로 삭제하시겠습니까?"
    # Anything the Content-Security-Policy blocked (an inline script, handler or style) is
    # logged by Chromium ("... violates the following Content Security Policy directive"
    # in this version, "Refused to ..." in older ones): the pages must need none.
    refused = []
    page.on("console", lambda m: refused.append(m.text) if _csp_refusal(m.text) else None)
    # Waits are on page states; this is only their overall deadline, generous because the
    # first question loads the models on a possibly loaded machine.
    page.set_default_timeout(180_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    if report is not None and report.passed:
        assert refused == [], refused


def login(page, url, username, password="password123"):
    page.goto(url + "/auth/login/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/question/list/"))


def logout(page):
    page.click("nav form button:has-text('로그아웃')")


def test_board_flow(page, live_server):
    url = live_server.url
    page.goto(url + "/auth/signup/")
    page.fill("#username", "carol")
    page.fill("#password1", "password123")
    page.fill("#password2", "password123")
    page.fill("#email", "carol@example.com")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/auth/login/"))
    login(page, url, "carol")
    page.click("text=질문 등록")
    page.fill("#subject", "브라우저에서 올린 질문")
    page.fill("#content", "**굵은** 내용입니다.")
    page.click("main form button[type=submit]")
    assert page.locator("h2").inner_text() == "브라우저에서 올린 질문"
    assert page.locator(".card-text strong").inner_text() == "굵은"
    question_url = page.url
    logout(page)

    login(page, url, "bob")
    page.goto(question_url)
    page.fill("#content", "밥의 답변입니다.")
    page.click('input[value="답변 등록"]')
    page.wait_for_url(re.compile(r".*#answer_\d+"))
    answer = page.locator("[id^=answer_] + .row").last
    assert "밥의 답변입니다." in answer.inner_text()
    page.locator(".row").first.locator("button:has-text('추천')").click()  # vote the question
    page.wait_for_selector("text=추천했습니다.")
    assert page.locator(".row").first.locator(".vote-count").first.inner_text() == "1"
    page.click("text=댓글 추가 ..")
    page.fill("#content", "질문에 단 댓글")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*#comment_\d+"))
    assert page.locator(".comment", has_text="질문에 단 댓글").count() == 1
    answer = page.locator("[id^=answer_] + .row").last
    answer.locator("a:has-text('수정')").click()
    page.fill("#content", "고친 답변입니다.")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=답변이 수정되었습니다.")
    assert page.locator("text=고친 답변입니다.").count() == 1
    answer = page.locator("[id^=answer_] + .row").last
    answer.locator("button:has-text('삭제')").click()
    page.wait_for_selector("text=답변이 삭제되었습니다.")
    assert page.locator("text=고친 답변입니다.").count() == 0
    assert page.locator("text=0개의 답변이 있습니다.").count() == 1


def test_rag_flow(page, live_server, tmp_path):
    url = live_server.url
    pdf = tmp_path / "은행.pdf"
    pdf.write_bytes(pdf_bytes(KOREAN_PAGES))
    login(page, url, "alice")
    page.click("nav >> text=내 문서")
    page.wait_for_load_state()  # documents.js runs: the upload goes by XHR with a bar
    page.set_input_files("#file", str(pdf))
    with page.expect_navigation():  # sent: the page reloads to show the indexing
        page.click("main form button:has-text('올리기')")
    row = page.locator("#documents tbody tr").first
    row.locator(".badge", has_text="완료").wait_for(timeout=600_000)  # polled, no reload
    assert "3쪽" in row.locator(".doc-detail").inner_text()
    page.click("nav >> text=문서 챗봇")
    page.wait_for_load_state()  # chat.js sends on Enter
    page.fill("#question", "정기예금 금리는 얼마인가요?")
    page.keyboard.press("Enter")
    assistant = page.locator(".message-assistant").last
    assistant.locator(".content").filter(has_text=re.compile(".")).wait_for()  # tokens arrive
    assistant.locator(".feedback").wait_for()  # the done event
    citation = assistant.locator(".sources a").first
    assert re.search(r"/chat/documents/\d+/file#page=\d", citation.get_attribute("href"))
    citation.click()  # the side panel: file, page, snippet, and the link to the page
    panel = page.locator("#citation-panel")
    panel.locator(".citation-open").wait_for(state="visible")
    assert "은행.pdf" in panel.locator(".citation-file").inner_text()
    with page.context.expect_page() as opened:
        panel.locator(".citation-open").click()
    pdf_page = opened.value
    pdf_page.wait_for_load_state()
    assert "/file#page=" in pdf_page.url
    pdf_page.close()
    conversation_url = page.url
    page.reload()
    page.goto(conversation_url)
    assert page.locator(".message-user", has_text="정기예금 금리는 얼마인가요?").count() == 1
    assert page.locator(".message-assistant .sources a").count() >= 1
    assert page.locator("#conversation-list a", has_text="정기예금 금리는").count() == 1


def test_hostile_markdown_does_not_run(page, live_server):
    url = live_server.url
    login(page, url, "alice")
    page.goto(url + "/question/create/")
    page.fill("#subject", "<script>window.__xss = 'subject'</script>")
    page.fill("#content", "\n\n".join([
        "<script>window.__xss = 'script'</script>",
        '<img src="x" onerror="window.__xss = \'onerror\'">',
        "[click](javascript:window.__xss='link')",
        '<iframe src="javascript:parent.__xss=\'iframe\'"></iframe>',
        '<svg onload="window.__xss=\'svg\'"></svg>',
    ]))  # fmt: skip
    page.click("main form button[type=submit]")
    page.wait_for_selector("h2")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    assert page.locator("main script").count() == 0
    assert page.locator("main iframe").count() == 0
    link = page.locator(".card-text a", has_text="click")
    assert link.count() == 0 or not (link.get_attribute("href") or "").startswith("javascript")
