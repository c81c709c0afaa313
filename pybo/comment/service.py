"""Comment rules: comments hang off a question or an answer."""

from pybo.extensions import db
from pybo.models import Comment, now


def create(user, content, question=None, answer=None):
    comment = Comment(
        user=user, content=content, question=question, answer=answer, create_date=now()
    )
    db.session.add(comment)
    db.session.commit()
    return comment


def modify(comment, content):
    comment.content = content
    comment.modify_date = now()
    db.session.commit()
    return comment


def delete(comment):
    db.session.delete(comment)
    db.session.commit()
