"""`flask board ...`: maintenance of the board's derived data."""

import click
from flask.cli import AppGroup

from pybo.extensions import db
from pybo.question import search

board_cli = AppGroup("board", help="Board maintenance.")


@board_cli.command("reindex")
def reindex():
    """Rebuild the search index from the questions and answers."""
    with db.engine.begin() as connection:
        count = search.rebuild(connection)
    click.echo(f"검색 색인을 다시 만들었습니다: 질문 {count:,}개")
