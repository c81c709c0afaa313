"""`flask board ...`: maintenance of the board's derived data (the assistant adds its
commands in `pybo.assistant.cli`)."""

import click

from pybo.common.cli import KoreanGroup
from pybo.extensions import db
from pybo.question import search

board_cli = KoreanGroup("board", help="게시판의 색인을 관리합니다.")


@board_cli.command("reindex", help="질문과 답변으로 검색 색인과 AI 도우미의 색인을 다시 만듭니다.")
@click.option(
    "--only", type=click.Choice(["search", "assistant"]),
    help="검색 색인(search)이나 AI 도우미의 색인(assistant)만 다시 만듭니다.",
)  # fmt: skip
def reindex(only):
    """Rebuild the search index and the assistant's index from the questions and answers."""
    if only != "assistant":
        with db.engine.begin() as connection:
            count = search.rebuild(connection)
        click.echo(f"검색 색인을 다시 만들었습니다: 질문 {count:,}개")
    if only != "search":
        from pybo.assistant.cli import rebuild_knowledge

        rebuild_knowledge(required=only == "assistant")
