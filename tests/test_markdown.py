"""Markdown renders like the tutorial's and nothing hostile survives."""

import pytest

from pybo.common.markdown import render

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
