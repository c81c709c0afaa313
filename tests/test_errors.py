"""Error pages: Korean, no tracebacks, never a 500 from user input."""

import io

import pytest


def test_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "페이지를 찾을 수 없습니다" in response.get_data(
        as_text=True
    )


def test_500_page_hides_details(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret detail")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "서버 오류" in body and "secret detail" not in body


def test_oversized_request_is_413(app, client, auth, users):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    auth.login()
    response = client.post("/question/create/", data={"subject": "s", "content": "가" * 4000})
    assert response.status_code == 413 and "요청이 너무 큽니다" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/question/detail/abc/",
        "/question/list/?page=1e9",
        "/question/detail/99999999999999999999/",
        "/user/%00/",
        "/question/list/?kw=%FF%FE",
        "/question/list/?page=99999999999999999999",
        "/question/detail/1/?page=99999999999999999999",
        "/user/alice/?qpage=99999999999999999999",
    ],
)
def test_odd_input_never_500(client, path):
    assert client.get(path).status_code in (200, 400, 404)


def test_nul_bytes_are_refused_everywhere(client, auth, users):
    auth.login()
    assert client.get("/user/%00/").status_code == 400
    assert client.get("/question/list/?kw=a%00b").status_code == 400
    response = client.post("/question/create/", data={"subject": "a\x00", "content": "b"})
    assert response.status_code == 400 and "잘못된 요청" in response.get_data(as_text=True)
    assert client.post("/chat/1/ask", json={"question": "a\u0000"}).status_code == 400


@pytest.mark.parametrize("csrf", [False, True])
def test_oversized_upload_shows_the_documents_page(app, client, auth, users, csrf):
    """On the documents page an oversized upload is a Korean size message on that page,
    not a bare 413 (CSRF reads the form first and meets the limit there)."""
    auth.login()
    app.config.update(MAX_CONTENT_LENGTH=1024, WTF_CSRF_ENABLED=csrf)
    data = {"file": (io.BytesIO(b"%PDF-1.4" + b"0" * 4096), "큰 문서.pdf")}
    response = client.post("/chat/documents/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/chat/documents/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    mb = app.config["MAX_UPLOAD_MB"]
    assert f"파일이 너무 큽니다. PDF는 한 번에 최대 {mb}MB까지 올릴 수 있어요." in page


def test_oversized_upload_from_the_page_script_gets_json(app, client, auth, users):
    auth.login()
    app.config["MAX_CONTENT_LENGTH"] = 1024
    data = {"file": (io.BytesIO(b"0" * 4096), "big.pdf")}
    response = client.post(
        "/chat/documents/upload",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 413
    (result,) = response.get_json()["results"]
    assert result["ok"] is False and "파일이 너무 큽니다" in result["message"]
