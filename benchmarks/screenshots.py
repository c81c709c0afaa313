"""Screenshots for the README: the real app (gunicorn, production config) with demo data,
driven by headless Chromium, written to docs/screenshots/*.png.

    python benchmarks/screenshots.py [--out docs/screenshots]

Demo data: Korean questions and answers (one accepted, votes, code and a table), a PDF
uploaded through the page and indexed by the tiny offline models the tests build
(tests/fixtures/tiny_models.py), a chat question answered with citations, and
documents in every state. The tiny LLM has random weights, so the chat answer's words
are noise; the citations, the layout and the sources panel are real.
"""

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "password123"

QUESTIONS = [
    (
        "minji",
        "파이썬 가상환경은 어떻게 만드나요?",
        "프로젝트마다 패키지 버전이 달라서 가상환경을 쓰려고 합니다.\n\n"
        "1. 어떤 명령으로 만드나요?\n2. 켜고 끄는 방법도 궁금합니다.",
        [
            (
                "junho",
                "표준 라이브러리의 `venv`면 충분합니다.\n\n"
                "```bash\npython -m venv .venv\n"
                "source .venv/bin/activate  # 윈도우는 .venv\\Scripts\\activate\n"
                "pip install -r requirements.txt\ndeactivate\n```\n\n"
                "| 운영체제 | 켜는 명령 |\n|---|---|\n| 리눅스·맥 | `source .venv/bin/activate` |\n"
                "| 윈도우 | `.venv\\Scripts\\activate` |",
                True,
            ),
            ("seoyeon", "저는 `uv venv`도 씁니다. 훨씬 빠릅니다.", False),
        ],
        5,
    ),
    (
        "junho",
        "Flask에서 CSRF 토큰은 어디에 넣나요?",
        "폼을 POST로 보내면 `400 Bad Request`가 납니다. 템플릿에 무엇을 넣어야 하나요?",
        [
            (
                "minji",
                "Flask-WTF를 쓰면 폼 안에 숨은 필드를 넣습니다.\n\n"
                '```html\n<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">\n```',
                False,
            )
        ],
        3,
    ),
    (
        "seoyeon",
        "SQLAlchemy 2.0에서 query 대신 무엇을 쓰나요?",
        "`Question.query.filter(...)`가 레거시라고 들었습니다.",
        [
            (
                "junho",
                "`db.session.execute(db.select(Question).where(...))`를 쓰면 됩니다.\n\n"
                "```python\nstmt = db.select(Question).order_by(Question.create_date.desc())\n"
                "questions = db.session.scalars(stmt).all()\n```",
                True,
            )
        ],
        2,
    ),
    ("minji", "정기예금과 적금은 무엇이 다른가요?", "금리 계산 방식이 다르다고 들었습니다.", [], 1),
    ("junho", "부트스트랩 다크 모드는 어떻게 켜나요?", "`data-bs-theme`를 쓰면 되나요?", [], 0),
    ("seoyeon", "마크다운에서 표는 어떻게 쓰나요?", "| 와 - 로 만든다고 들었어요.", [], 0),
]


def build(tmp):
    """The app on a fresh database with the demo board; returns (app, models)."""
    from tests.conftest import build_app
    from tests.fixtures.tiny_models import build_tiny_embedder, build_tiny_gemma

    models = {
        "llm": str(build_tiny_gemma(tmp / "models" / "gemma-3n-E2B-it")),
        "embedding": str(build_tiny_embedder(tmp / "models" / "ko-sroberta")),
    }
    app = build_app(tmp, EMBEDDING_MODEL=models["embedding"], LLM_MODEL=models["llm"])
    with app.app_context():
        from pybo.answer import service as answers
        from pybo.auth import service as auth
        from pybo.extensions import db
        from pybo.question import service as questions

        users = {
            name: auth.signup(name, f"{name}@example.com", PASSWORD)
            for name in ("minji", "junho", "seoyeon", "alice")
        }
        for author, subject, content, replies, votes in QUESTIONS:
            question = questions.create(users[author], subject, content)
            question.vote_count = votes
            for replier, text, accepted in replies:
                answer = answers.create(users[replier], question, text)
                db.session.commit()
                if accepted:
                    answers.toggle_accept(answer)
            db.session.commit()
    return app


def processing_document(app, username="alice"):
    """A document half way through embedding (its job holds a fresh lease)."""
    from pybo.extensions import db
    from pybo.models import User
    from pybo.rag_chat.models import Document

    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
        db.session.add(Document(
            user=user, filename="2026년_예금상품_설명서.pdf", sha256="d" * 64, size=2_400_000,
            status="processing", pages_total=48, pages_done=48, chunks_total=160,
            chunks_done=92, job_token="screenshot-demo",
        ))  # fmt: skip
        db.session.commit()


def new_page(browser, viewport, scheme="light"):
    context = browser.new_context(viewport=viewport, locale="ko-KR", color_scheme=scheme,
                                  device_scale_factor=1)  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(120_000)
    return page


def login(page, url, username):
    page.goto(url + "/auth/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/question/list/"))


def shoot(page, out, name, full_page=False):
    path = out / f"{name}.png"
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=full_page)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    from tests.fixtures.live import serve
    from tests.fixtures.pdfs import KOREAN_PAGES, pdf_bytes
    from tests.test_browser import ARGS

    with tempfile.TemporaryDirectory(prefix="pybo-shots-") as tmp_dir:
        tmp = Path(tmp_dir)
        app = build(tmp)
        pdf = tmp / "은행_상품_안내.pdf"
        pdf.write_bytes(pdf_bytes(KOREAN_PAGES))
        # A long lease: the demo "processing" document is not reclaimed during the run.
        with serve(app, tmp, JOB_LEASE_SECONDS=3600, LLM_MAX_NEW_TOKENS=40) as server, \
                sync_playwright() as playwright:  # fmt: skip
            url = server.url
            browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)

            page = new_page(browser, DESKTOP)
            page.goto(url + "/question/list/")
            shoot(page, out, "board-desktop")
            page.goto(url + "/question/detail/1/")
            shoot(page, out, "question-detail", full_page=True)
            page.context.close()

            page = new_page(browser, PHONE)
            page.goto(url + "/question/list/")
            shoot(page, out, "board-phone")
            page.goto(url + "/question/detail/1/")
            shoot(page, out, "question-detail-phone")
            page.context.close()

            page = new_page(browser, DESKTOP)
            login(page, url, "alice")
            page.goto(url + "/chat/documents/")
            page.set_input_files("#file", str(pdf))
            page.click("main form button:has-text('올리기')")
            page.locator("#documents tbody tr .badge", has_text="완료").first.wait_for()
            processing_document(app)
            page.goto(url + "/chat/documents/")
            page.locator("#documents tbody tr .badge", has_text="처리 중").first.wait_for()
            shoot(page, out, "documents-progress")

            page.goto(url + "/chat/")
            page.fill("#question", "정기예금 금리는 얼마인가요?")
            page.keyboard.press("Enter")
            answer = page.locator(".message-assistant").last
            answer.locator(".feedback").wait_for()  # the done event: answer and sources
            shoot(page, out, "chat-citations")
            answer.locator(".sources a").first.click()
            page.locator("#citation-panel .citation-open").wait_for(state="visible")
            shoot(page, out, "chat-citation-panel")
            chat_url = page.url
            page.context.close()

            page = new_page(browser, PHONE)
            login(page, url, "alice")
            page.goto(chat_url)
            page.locator(".message-assistant .sources a").first.wait_for()
            shoot(page, out, "chat-phone")
            page.goto(url + "/chat/documents/")
            shoot(page, out, "documents-phone", full_page=True)
            page.context.close()

            page = new_page(browser, DESKTOP, scheme="dark")
            login(page, url, "alice")
            page.goto(chat_url)
            page.locator(".message-assistant .sources a").first.wait_for()
            shoot(page, out, "chat-dark")
            page.context.close()

            page = new_page(browser, DESKTOP, scheme="dark")
            page.goto(url + "/question/detail/1/")
            shoot(page, out, "dark-mode", full_page=True)
            page.context.close()
            page = new_page(browser, PHONE, scheme="dark")
            page.goto(url + "/question/list/")
            shoot(page, out, "dark-mode-phone")
            page.context.close()
            browser.close()


if __name__ == "__main__":
    main()
