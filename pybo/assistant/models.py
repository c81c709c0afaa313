"""The board index's work queue: a question waits here until its chunks are current."""

from datetime import datetime

from sqlalchemy import DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

from pybo.extensions import db
from pybo.models import now


class BoardIndexQueue(db.Model):
    """A question whose chunks must be (re)written, or removed if it is gone. Rows are
    added in the same transaction as the change (so nothing is lost in a crash) and
    removed by the job once it has indexed that state."""

    __tablename__ = "board_index_queue"

    question_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=now)
