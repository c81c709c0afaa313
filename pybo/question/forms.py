from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

MAX_SUBJECT = 200
MAX_CONTENT = 20_000


class QuestionForm(FlaskForm):
    subject = StringField(
        "제목",
        validators=[
            DataRequired("제목은 필수입력 항목입니다."),
            Length(max=MAX_SUBJECT, message=f"제목은 {MAX_SUBJECT}자 이하로 입력해 주세요."),
        ],
    )
    content = TextAreaField(
        "내용",
        validators=[
            DataRequired("내용은 필수입력 항목입니다."),
            Length(max=MAX_CONTENT, message=f"내용은 {MAX_CONTENT:,}자 이하로 입력해 주세요."),
        ],
    )
