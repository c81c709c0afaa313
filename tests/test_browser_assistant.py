"""The board's assistant in a real browser: similar questions while typing, then an AI
answer whose citation opens its source. Gunicorn, production config, tiny models."""

import re
import time

import pytest

from tests.test_browser import CHROMIUM, browser, login  # noqa: F401 (fixtures)
from tests.test_browser import page as page  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason="no Chromium"),
]


def _wait_indexed(live_server, subject, seconds=120):
    """The board index job runs in the server after the commit: wait until it is done."""
    session = live_server.session()
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = session.get(live_server.url + "/question/similar/", params={"subject": subject})
        if found.ok and found.json():
            return found.json()
        time.sleep(0.5)
    raise AssertionError(f"not indexed in {seconds} s: {live_server.log_path.read_text()[-2000:]}")


def _post_question(browser_page, subject, content, ai=False):
    page = browser_page
    page.click("text=질문 등록")
    page.fill("#subject", subject)
    page.fill("#content", content)
    if ai:
        page.check("#ai_answer")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/question/detail/\d+/"))
    return page.url


def test_similar_questions_then_an_ai_answer_with_a_citation(page, live_server):  # noqa: F811
    url = live_server.url
    login(page, url, "bob")
    bob_question = _post_question(page, "파이썬 가상환경 venv 만드는 방법",
                                  "python -m venv 로 가상환경을 만들면 되나요?")  # fmt: skip
    page.fill("#content", "python -m venv .venv 로 만들고 source .venv/bin/activate 로 켭니다.")
    page.click("form[action*='/answer/create/'] [type=submit]")
    page.wait_for_url(re.compile(r".*#answer_\d+"))
    bob_answer = re.search(r"#answer_(\d+)", page.url).group(1)
    page.click("nav form button:has-text('로그아웃')")
    _wait_indexed(live_server, "파이썬 가상환경 venv")

    login(page, url, "alice")
    page.click("text=질문 등록")
    page.type("#subject", "파이썬 가상환경 venv 는 어떻게 만드나요", delay=20)
    similar = page.locator(".similar-questions")
    similar.wait_for(state="visible", timeout=60_000)  # the index job ran, the box appeared
    assert "비슷한 질문이 이미 있어요" in similar.inner_text()
    assert (
        similar.locator("a")
        .first.get_attribute("href")
        .endswith(bob_question.split(url)[1].split("#")[0])
    )
    page.fill("#content", "venv 모듈로 가상환경을 만드는 명령을 알려 주세요.")
    page.check("#ai_answer")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/question/detail/\d+/"))
    # "AI 답변 작성 중…" while the job runs; the page reloads itself when it is done
    page.locator(".ai-label").wait_for(timeout=120_000)
    assert "AI 답변" in page.locator(".ai-label").inner_text()
    bob_path = bob_question.split(url)[1].split("#")[0]
    links = page.locator(".ai-sources a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert any(h.startswith(bob_path) for h in hrefs), hrefs  # cites bob's question or answer
    assert page.locator(".markdown a.cite").count() + len(hrefs) > 0
    chosen = next(i for i, h in enumerate(hrefs) if h.startswith(bob_path))
    links.nth(chosen).click()
    page.wait_for_url(re.compile(rf".*{re.escape(bob_path)}(#answer_{bob_answer})?$"))
    assert page.locator("h2").inner_text() == "파이썬 가상환경 venv 만드는 방법"
