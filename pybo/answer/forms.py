from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from pybo.question.forms import MAX_CONTENT


class AnswerForm(FlaskForm):
    content = TextAreaField(
        "내용",
        validators=[
            DataRequired("내용은 필수입력 항목입니다."),
            Length(max=MAX_CONTENT, message=f"내용은 {MAX_CONTENT:,}자 이하로 입력해 주세요."),
        ],
    )
