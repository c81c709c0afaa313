"""`flask rag ingest` on many files and folders, and the Korean CLI, through Click."""

import pytest
from sqlalchemy import select

from pybo.common.cli import translate
from pybo.extensions import db
from pybo.rag_chat.models import Document
from tests.fixtures import pdfs
from tests.fixtures.pdfs import KOREAN_PAGES, pdf_bytes


@pytest.fixture
def library(tmp_path):
    """Two PDFs in a folder (one nested), one loose file, one broken, one not a PDF."""
    folder = tmp_path / "자료"
    (folder / "하위").mkdir(parents=True)
    (folder / "은행.pdf").write_bytes(pdf_bytes(KOREAN_PAGES[:2]))
    (folder / "하위" / "계약.pdf").write_bytes(pdf_bytes(KOREAN_PAGES[2:]))
    (folder / "메모.txt").write_text("PDF가 아님")
    loose = tmp_path / "설정.pdf"
    wrapped = "관리자는 새 비밀 키를 만듭니\n다. 설정 파일의 SECRE\nT_KEY 값을 바꿉니다."
    loose.write_bytes(pdf_bytes([wrapped]))
    broken = tmp_path / "깨짐.pdf"
    broken.write_bytes(pdfs.corrupt_pdf_bytes())
    return folder, loose, broken


def _documents(app):
    with app.app_context():
        return {d.filename: d for d in db.session.scalars(select(Document))}


def test_ingest_folders_and_files_in_one_process(rag_app, library):
    folder, loose, broken = library
    runner = rag_app.test_cli_runner()
    result = runner.invoke(
        args=["rag", "ingest", str(folder), str(loose), str(broken), "--user", "alice"]
    )
    assert result.exit_code == 1, result.output  # one file failed
    out = result.output
    assert "색인 완료: 파일 3개, 페이지 4쪽" in out
    assert "실패 1개" in out and "깨짐.pdf: 손상된 PDF입니다" in out
    assert "Loading weights" not in out and "Traceback" not in out
    docs = _documents(rag_app)
    assert {name: d.status for name, d in docs.items()} == {
        "은행.pdf": "ready", "계약.pdf": "ready", "설정.pdf": "ready", "깨짐.pdf": "failed",
    }  # fmt: skip
    assert "메모.txt" not in docs  # folders contribute their *.pdf only
    with rag_app.app_context():
        from pybo.rag_chat.models import Chunk

        texts = " ".join(db.session.scalars(select(Chunk.text)))
    assert "SECRET_KEY" in texts and "만듭니다" in texts  # wrapped words joined
    again = runner.invoke(args=["rag", "ingest", str(loose), "--user", "alice"])
    assert again.exit_code == 0 and "이미 색인된 문서입니다" in again.output


def test_ingest_shared_needs_an_admin(rag_app, library):
    folder, _, _ = library
    runner = rag_app.test_cli_runner()
    refused = runner.invoke(args=["rag", "ingest", str(folder), "--user", "alice", "--shared"])
    assert refused.exit_code != 0 and "관리자만" in refused.output
    shared = runner.invoke(args=["rag", "ingest", str(folder), "--shared", "--quiet"])
    assert shared.exit_code == 0, shared.output
    assert all(d.shared for d in _documents(rag_app).values())


def test_ingest_needs_an_owner_in_korean(rag_app, library):
    folder, _, _ = library
    result = rag_app.test_cli_runner().invoke(args=["rag", "ingest", str(folder)])
    assert result.exit_code == 2
    assert "--user NAME 또는 --shared" in result.output and "오류:" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["rag", "ingest"], "인자 'PATHS...'가 필요합니다."),
        (["rag", "ingest", "/no/such/file.pdf"], "경로 '/no/such/file.pdf'가 없습니다."),
        (["rag", "status", "--bogus"], "없는 옵션입니다: --bogus"),
        (["user", "create-admin"], "인자 'NAME'가 필요합니다."),
        (["board", "reindex", "--only", "x"], "'x'은(는) 다음 중 하나가 아닙니다"),
        (["models", "nothing"], "없는 명령입니다: 'nothing'."),
    ],
)
def test_click_errors_are_korean(app, args, expected):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2
    assert expected in result.output and "오류:" in result.output and "사용법:" in result.output
    assert "Error" not in result.output and "Usage" not in result.output


@pytest.mark.parametrize("group", ["rag", "models", "board", "user"])
def test_help_is_korean(app, group):
    result = app.test_cli_runner().invoke(args=[group, "--help"])
    assert result.exit_code == 0
    assert "사용법:" in result.output and "명령:" in result.output
    assert "이 도움말을 보여 주고 끝냅니다." in result.output
    assert "Usage:" not in result.output and "Show this message" not in result.output


def test_rag_ingest_help_is_korean(app):
    result = app.test_cli_runner().invoke(args=["rag", "ingest", "--help"])
    assert "옵션:" in result.output and "공유 자료실에 올립니다" in result.output


def test_password_prompt_and_abort_in_korean(app):
    runner = app.test_cli_runner()
    mismatch = runner.invoke(
        args=["user", "create-admin", "admin1"], input="password-1\npassword-2\n"
    )
    assert "두 번 입력한 값이 다릅니다" in mismatch.output
    assert "중단했습니다." in mismatch.output and "Aborted" not in mismatch.output
    ok = runner.invoke(args=["user", "create-admin", "admin1"], input="password-1\npassword-1\n")
    assert ok.exit_code == 0 and "비밀번호 확인" in ok.output


def test_translate_leaves_other_text_alone():
    assert translate("Error: No such option: --x") == "오류: 없는 옵션입니다: --x"
    assert translate("문서 3개") == "문서 3개"
