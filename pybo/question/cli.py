"""`flask board ...`: maintenance of the board's derived data (the assistant adds its
commands in `pybo.assistant.cli`)."""

import click
from flask.cli import AppGroup

from pybo.extensions import db
from pybo.question import search

board_cli = AppGroup("board", help="Board maintenance.")


@board_cli.command("reindex")
@click.option(
    "--only", type=click.Choice(["search", "assistant"]),
    help="Rebuild only the board search index, or only the assistant's knowledge index.",
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
