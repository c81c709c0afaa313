from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

MAX_COMMENT = 2_000


class CommentForm(FlaskForm):
    content = TextAreaField(
        "내용",
        validators=[
            DataRequired("내용은 필수입력 항목입니다."),
            Length(max=MAX_COMMENT, message=f"댓글은 {MAX_COMMENT:,}자 이하로 입력해 주세요."),
        ],
    )
