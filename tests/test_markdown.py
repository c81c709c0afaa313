"""Markdown renders like the tutorial's and nothing hostile survives."""

import pytest

from pybo.common.markdown import plain_text, render

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<scr<script>ipt>alert(1)</script>",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<form action="/auth/logout/" method="post"><button>x</button></form>',
    "![x](javascript:alert(1))",
    '<object data="data:text/html,<script>alert(1)</script>"></object>',
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_is_inert(source):
    html = str(render(source)).lower()
    for needle in (
        "<script",
        "onerror",
        "onload",
        "javascript:",
        "<iframe",
        "<svg",
        "style=",
        "<form",
        "<object",
        "xlink",
    ):
        assert needle not in html, (source, html)


def test_fenced_code_and_line_breaks():
    html = str(render("첫 줄\n둘째 줄\n\n```\nprint('<b>')\n```"))
    assert "첫 줄<br" in html
    assert "<pre><code>" in html and "&lt;b&gt;" in html


def test_links_get_rel():
    html = str(render("[pybo](https://example.com)"))
    assert 'href="https://example.com"' in html and "noopener" in html


def test_hostile_post_rendered_inert_on_the_page(client, auth, users):
    auth.login()
    client.post(
        "/question/create/",
        data={
            "subject": "<script>alert('s')</script>",
            "content": HOSTILE[1] + "\n\n" + HOSTILE[0],
        },
    )
    page = client.get("/question/detail/1/").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;s&#39;)&lt;/script&gt;" in page  # subject escaped
    assert "onerror" not in page


def test_ordered_list_after_a_bullet_list_stays_ordered():
    html = str(render("- 사과\n- 배\n\n1. 첫째\n2. 둘째"))
    assert html.index("<ul>") < html.index("<ol>")
    ordered = html[html.index("<ol>") : html.index("</ol>")]
    assert "<li>첫째</li>" in ordered and "<li>둘째</li>" in ordered
    bullets = html[html.index("<ul>") : html.index("</ul>")]
    assert "첫째" not in bullets


def test_ordered_list_keeps_its_start_number():
    assert '<ol start="3">' in str(render("3. 셋째\n4. 넷째"))


def test_tables():
    html = str(render("| 이름 | 값 |\n|:--|--:|\n| 금리 | 3.5% |"))
    assert "<table>" in html and "<th" in html and ">금리</td>" in html
    assert 'align="right"' in html and "style=" not in html


def test_fenced_code_is_highlighted_with_classes_and_gets_a_copy_button():
    html = str(render("```python\ndef f():\n    return '<b>'\n```"))
    assert '<code class="language-python">' in html
    assert '<span class="k">def</span>' in html  # Pygments token classes survive nh3
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert html.count("code-copy") == 1 and 'type="button"' in html
    assert "style=" not in html


def test_unknown_code_language_is_plain_and_escaped():
    html = str(render("```nosuchlanguage\n<script>x</script>\n```"))
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<span" not in html


def test_user_spans_keep_only_pygments_classes():
    html = str(render('<span class="k evil" style="color:red">x</span>'))
    assert 'class="k"' in html and "evil" not in html and "style" not in html


def test_user_cannot_post_a_button():
    assert "<button" not in str(render('<button class="code-copy">x</button>'))


def test_plain_text():
    source = "**굵은** 글\n다음 줄\n\n```python\nprint(1)\n```\n\n<script>alert(1)</script>"
    text = plain_text(source)
    assert text.startswith("굵은 글\n다음 줄\nprint(1)")
    assert "<" not in text and "복사" not in text and "alert" not in text
    assert plain_text("가나다라마바사", limit=4) == "가나다…"
    assert plain_text("") == ""


def test_pygments_css_is_generated_from_the_code():
    from pathlib import Path

    from pybo.common.markdown import pygments_css

    path = Path(__file__).resolve().parent.parent / "pybo" / "static" / "pygments.css"
    css = path.read_text(encoding="utf-8")
    assert css == pygments_css()
    assert "[data-bs-theme=dark] .markdown pre .k" in css
