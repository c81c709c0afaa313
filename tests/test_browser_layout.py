"""Layout in a real browser: every page fits a phone (390×844) and a desktop (1280×800)
without sideways scrolling or buttons squeezed to a letter per line; the colour mode
follows the system and the navbar toggle is remembered. Gunicorn, production config."""

import re
from pathlib import Path

import pytest

from tests.test_browser import ARTIFACTS, CHROMIUM, browser, login  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

LONG_POST = """가상환경을 만들고 패키지를 설치하는 순서를 정리했습니다.

- 준비물
- 파이썬 3.11

1. `python -m venv .venv`
2. `source .venv/bin/activate`

```python
def 설치(패키지들):
    return subprocess.run(["pip", "install", *패키지들, "--no-cache-dir", "--index-url", \
"https://pypi.example.org/simple/very/long/path"], check=True)
```

| 명령 | 설명 | 비고 | 운영체제 | 예시 |
|---|---|---|---|---|
| venv | 가상환경 만들기 | 표준 라이브러리 | 리눅스와 맥과 윈도우 | python -m venv .venv |

https://example.com/아주/긴/주소/가/줄바꿈/없이/이어지는/경우/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
"""

# Everything measured on one page: sideways overflow, and short button labels that
# wrap (line boxes counted from the text's client rects, not guessed from the height).
MEASURE = """() => {
  const squeezed = [];
  const buttons = "button, .btn, input[type=submit], input[type=button]";
  for (const el of document.querySelectorAll(buttons)) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === "hidden") continue;
    const label = (el.tagName === "INPUT" ? el.value : el.innerText).replace(/\\s+/g, " ").trim();
    if (!label) continue;
    let lines;
    if (el.tagName === "INPUT") {
      const style = getComputedStyle(el);
      const inner = box.height - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
        - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
      lines = Math.round(inner / parseFloat(style.lineHeight || style.fontSize));
    } else {
      const range = document.createRange();
      range.selectNodeContents(el);
      const tops = new Set();
      for (const rect of range.getClientRects()) {
        if (rect.width > 0 && rect.height > 0) tops.add(Math.round(rect.top));
      }
      lines = tops.size;
    }
    const letters = label.replace(/\\s/g, "").length;
    if (lines > 1 && (letters <= 12 || lines >= letters)) {
      squeezed.push(`${label} (${lines}줄, 폭 ${Math.round(box.width)}px)`);
    }
  }
  const wide = [];
  if (document.scrollingElement.scrollWidth > window.innerWidth) {
    for (const el of document.body.querySelectorAll("*")) {
      const rect = el.getBoundingClientRect();
      if (rect.right > window.innerWidth + 1 && rect.width > 0) {
        const name = `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`;
        wide.push(`${name} → ${Math.round(rect.right)}px`);
      }
    }
  }
  return {
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth,
    squeezed,
    wide: wide.slice(0, 8),
  };
}"""


# Text whose colour is too close to the background it sits on (WCAG contrast < 3:1), e.g.
# a light text colour from the dark theme on a background hard-coded light.
LOW_CONTRAST = """() => {
  const parse = (value) => {
    const m = value.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const luminance = ({ r, g, b }) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const colour = parse(getComputedStyle(el).backgroundColor);
      if (colour && colour.a > 0.5) return colour;
    }
    return parse(getComputedStyle(document.body).backgroundColor);
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || el.closest("[disabled], .disabled, .visually-hidden")) {
      continue;
    }
    const fg = parse(style.color);
    const bg = background(el);
    if (!fg || !bg) continue;
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 3) found.push(`${node.textContent.trim().slice(0, 20)} (${ratio.toFixed(2)})`);
  }
  return [...new Set(found)].slice(0, 10);
}"""


def seed(app):
    """A question with a long post, answers, a comment, a conversation with a cited
    answer and documents in every state: what the pages look like in use."""
    from pybo.extensions import db
    from pybo.models import Answer, Comment, Question, User
    from pybo.rag_chat.models import Conversation, Document, Message

    with app.app_context():
        alice = db.session.execute(db.select(User).filter_by(username="alice")).scalar_one()
        bob = db.session.execute(db.select(User).filter_by(username="bob")).scalar_one()
        for n in range(3):
            db.session.add(Question(subject=f"게시판 질문 {n + 1}번: 레이아웃 확인", content="내용",
                                    user=bob, vote_count=n))  # fmt: skip
        question = Question(
            subject="파이썬 가상환경은 어떻게 만들고 어떤 순서로 패키지를 설치하나요? 아주 긴 제목",
            content=LONG_POST,
            user=alice,
            vote_count=3,
            answer_count=1,
        )
        db.session.add(question)
        db.session.flush()
        answer = Answer(question=question, content=LONG_POST, user=bob, vote_count=1)
        db.session.add(answer)
        db.session.add(Comment(question=question, content="좋은 질문입니다.", user=bob))
        conversation = Conversation(user=alice, title="정기예금 금리 문의")
        db.session.add(conversation)
        db.session.flush()
        for role, content, sources in (
            ("user", "정기예금 금리는 얼마인가요?", None),
            ("assistant", "정기예금 금리는 연 3.5%입니다 [1].\n\n```python\nprint('금리')\n```",
             [{"document_id": 1, "filename": "은행_상품_안내서_2026년_개정판.pdf", "page": 2,
               "kind": "private", "snippet": "정기예금의 기본 금리는 연 3.5%이며 " * 6}]),
        ):  # fmt: skip
            db.session.add(Message(conversation=conversation, role=role, content=content,
                                   sources=sources))  # fmt: skip
        for status, extra in (
            ("ready", {"pages_total": 3, "pages_done": 3, "chunks_total": 12, "chunks_done": 12}),
            ("processing", {"pages_total": 40, "pages_done": 40, "chunks_total": 90,
                            "chunks_done": 30}),
            ("failed", {"error": "글자를 읽을 수 없는 PDF입니다(스캔본이면 글자 인식 후 올려 주세요)."}),  # noqa: E501
        ):  # fmt: skip
            name = f"아주_긴_파일_이름_{status}_2026년_상품안내.pdf"
            db.session.add(Document(user=alice, filename=name,
                                    sha256=status.ljust(64, "0"), size=1000, status=status,
                                    job_token="layout-test" if status == "processing" else None,
                                    **extra))  # fmt: skip
        db.session.commit()
        return {"question": question.id, "conversation": conversation.id}


def pages(ids):
    """name: (path, logged in, a selector that shows the page rendered its content)"""
    return {
        "board list": ("/question/list/", True, ".question-table tbody tr"),
        "detail": (f"/question/detail/{ids['question']}/", True, ".vote-box .btn"),
        "create form": ("/question/create/", True, "#subject"),
        "login": ("/auth/login/", False, "#username"),
        "chat": (f"/chat/?c={ids['conversation']}", True, "#ask-form"),
        "documents": ("/chat/documents/", True, "#documents .doc-actions"),
        "profile": ("/user/alice/", True, ".list-group-item a"),
    }


def test_every_page_fits_a_phone_and_a_desktop(browser, live_server):  # noqa: F811
    ids = seed(live_server.app)
    problems = []
    for size_name, viewport in (("1280×800", DESKTOP), ("390×844", PHONE)):
        for logged_in in (False, True):
            context = browser.new_context(viewport=viewport, locale="ko-KR")
            page = context.new_page()
            page.set_default_timeout(30_000)
            if logged_in:
                login(page, live_server.url, "alice")
            for name, (path, needs_login, shown) in pages(ids).items():
                if needs_login != logged_in:
                    continue
                response = page.goto(live_server.url + path)
                assert response.ok, (name, response.status)
                page.locator(shown).first.wait_for()
                found = page.evaluate(MEASURE)
                where = f"{name} @ {size_name}"
                if found["scrollWidth"] > found["innerWidth"]:
                    problems.append(f"{where}: 가로 스크롤 {found['scrollWidth']} > "
                                    f"{found['innerWidth']} {found['wide']}")  # fmt: skip
                if found["squeezed"]:
                    problems.append(f"{where}: 좁아진 버튼 {found['squeezed']}")
                if problems and problems[-1].startswith(where):
                    ARTIFACTS.mkdir(exist_ok=True)
                    shot = re.sub(r"\W+", "_", where)
                    page.screenshot(path=str(ARTIFACTS / f"layout_{shot}.png"), full_page=True)
            context.close()
    assert not problems, "\n".join(problems)


def test_phone_layout_collapses_the_navbar_and_lists_questions_as_cards(browser, live_server):  # noqa: F811
    seed(live_server.app)
    context = browser.new_context(viewport=PHONE, locale="ko-KR")
    page = context.new_page()
    page.goto(live_server.url + "/question/list/")
    assert page.locator(".navbar-toggler").is_visible()
    assert not page.locator("#navbarNav").is_visible()
    assert page.locator(".question-table thead").is_hidden()
    row = page.locator(".question-table tbody tr").first
    assert row.evaluate("tr => getComputedStyle(tr).display") == "flex"
    subject = row.locator(".q-subject")
    assert subject.bounding_box()["width"] > PHONE["width"] * 0.7  # a card, not a column
    page.click(".navbar-toggler")
    page.locator("#navbarNav >> text=질문 목록").wait_for(state="visible")
    context.close()

    context = browser.new_context(viewport=DESKTOP, locale="ko-KR")
    page = context.new_page()
    page.goto(live_server.url + "/question/list/")
    assert page.locator(".question-table thead").is_visible()
    assert not page.locator(".navbar-toggler").is_visible()
    context.close()


def theme_of(page):
    return page.evaluate("document.documentElement.getAttribute('data-bs-theme')")


def body_background(page):
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_colour_mode_follows_the_system_and_the_toggle_is_remembered(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport=DESKTOP, locale="ko-KR")
    page = context.new_page()
    cdp = context.new_cdp_session(page)

    def prefer(scheme):
        cdp.send("Emulation.setEmulatedMedia",
                 {"features": [{"name": "prefers-color-scheme", "value": scheme}]})  # fmt: skip

    prefer("light")
    page.goto(live_server.url + "/question/list/")
    assert theme_of(page) == "light"
    light_background = body_background(page)

    prefer("dark")
    page.reload()
    assert theme_of(page) == "dark"  # set in <head>, before the body is painted
    assert body_background(page) != light_background
    assert page.locator("#theme-toggle").inner_text().strip() == "밝은 화면"
    prefer("light")  # the system changes while the page is open
    page.locator("html[data-bs-theme=light]").wait_for(state="attached")

    page.click("#theme-toggle")  # the reader picks dark: remembered over the system
    assert theme_of(page) == "dark"
    assert page.locator("#theme-toggle").get_attribute("aria-pressed") == "true"
    page.reload()
    assert theme_of(page) == "dark"
    page.goto(live_server.url + "/auth/login/")  # on every page
    assert theme_of(page) == "dark"
    assert body_background(page) != light_background
    page.click("#theme-toggle")
    page.reload()
    assert theme_of(page) == "light"
    prefer("dark")
    page.reload()
    assert theme_of(page) == "light"  # the stored choice still wins
    context.close()


def test_dark_pages_keep_text_readable(browser, live_server):  # noqa: F811
    ids = seed(live_server.app)
    problems = []
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport=DESKTOP, locale="ko-KR", color_scheme=scheme)
        page = context.new_page()
        login(page, live_server.url, "alice")
        for name, (path, _, shown) in pages(ids).items():
            if name == "login":
                continue
            page.goto(live_server.url + path)
            page.locator(shown).first.wait_for()
            assert theme_of(page) == scheme
            found = page.evaluate(LOW_CONTRAST)
            if found:
                problems.append(f"{name} ({scheme}): {found}")
        context.close()
    assert not problems, "\n".join(problems)


def test_code_blocks_have_a_copy_button(browser, live_server):  # noqa: F811
    ids = seed(live_server.app)
    context = browser.new_context(viewport=DESKTOP, locale="ko-KR")
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{live_server.url}/question/detail/{ids['question']}/")
    block = page.locator(".card-text.markdown .code-block").first
    assert block.locator("pre span.k").count() > 0  # highlighted on the server
    block.locator(".code-copy").click()
    block.locator(".code-copy", has_text="복사됨").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("def 설치(패키지들):") and "check=True)" in copied
    context.close()
