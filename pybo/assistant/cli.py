"""The assistant's admin commands: the board's knowledge index and AI answers."""

import click
from sqlalchemy import func, select

from pybo.assistant import ai_answer, board_index
from pybo.extensions import db
from pybo.knowledge.providers import ModelUnavailable
from pybo.models import Question
from pybo.question.cli import board_cli


def rebuild_knowledge(required=True):
    """Re-index every question for the assistant, with a progress bar (streams).

    Without an embedder this is an error when asked for alone (`--only assistant`); as
    part of a full `flask board reindex` the search index is still rebuilt and the
    assistant's part is skipped with a notice.
    """
    from tqdm import tqdm

    total = db.session.scalar(select(func.count(Question.id)))
    try:
        with tqdm(total=total, desc="게시판 지식 색인", unit="질문") as bar:
            done = board_index.rebuild(progress=bar.update)
    except ModelUnavailable as exc:
        message = (
            f"임베딩 모델이 없어 게시판 지식 색인을 만들 수 없습니다: {exc.reason}. "
            "`flask models download` 뒤에 `flask board reindex --only assistant`로 다시 실행하세요."
        )
        if required:
            raise click.ClickException(message) from exc
        click.echo(f"건너뜀: {message}")
        return
    click.echo(f"게시판 지식 색인을 다시 만들었습니다: 질문 {done:,}개")


@board_cli.command("ai-answer", help="QUESTION_ID 질문의 AI 답변을 다시 만듭니다.")
@click.argument("question_id", type=int)
def ai_answer_command(question_id):
    """(Re)generate the AI 도우미's answer to QUESTION_ID, replacing the old one."""
    question = db.session.get(Question, question_id)
    if question is None:
        raise click.ClickException(f"질문이 없습니다: #{question_id}")
    ai_answer.regenerate(question)
    click.echo(f"#{question_id} '{question.subject}': AI 답변을 만드는 중…")
    answer_id = ai_answer.process(question_id)
    question = db.session.get(Question, question_id, populate_existing=True)
    if answer_id:
        click.echo(f"AI 답변을 올렸습니다: /question/detail/{question_id}/#answer_{answer_id}")
    else:
        message = ai_answer.STATUS_TEXT.get(question.ai_status, question.ai_status)
        raise click.ClickException(message)
