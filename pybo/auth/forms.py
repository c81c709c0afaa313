from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

PASSWORD_MIN = 8


def _password_field(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(f"{label}은(는) 필수입력 항목입니다."),
            Length(
                min=PASSWORD_MIN, max=128, message=f"비밀번호는 {PASSWORD_MIN}자 이상이어야 합니다."
            ),
            EqualTo("password2", "비밀번호가 일치하지 않습니다."),
        ],
    )


class UserCreateForm(FlaskForm):
    username = StringField(
        "사용자 이름",
        validators=[
            DataRequired("사용자 이름은 필수입력 항목입니다."),
            Length(min=3, max=25, message="사용자 이름은 3자 이상 25자 이하입니다."),
        ],
    )
    password1 = _password_field("비밀번호")
    password2 = PasswordField(
        "비밀번호 확인", validators=[DataRequired("비밀번호 확인은 필수입력 항목입니다.")]
    )
    email = EmailField(
        "이메일",
        validators=[
            DataRequired("이메일은 필수입력 항목입니다."),
            Email("올바른 이메일 주소가 아닙니다.", check_deliverability=False),
            Length(max=120),
        ],
    )


class UserLoginForm(FlaskForm):
    username = StringField(
        "사용자 이름",
        validators=[DataRequired("사용자 이름은 필수입력 항목입니다."), Length(max=25)],
    )
    password = PasswordField(
        "비밀번호", validators=[DataRequired("비밀번호는 필수입력 항목입니다."), Length(max=128)]
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        "현재 비밀번호",
        validators=[DataRequired("현재 비밀번호를 입력해 주세요."), Length(max=128)],
    )
    password1 = _password_field("새 비밀번호")
    password2 = PasswordField(
        "새 비밀번호 확인", validators=[DataRequired("새 비밀번호 확인은 필수입력 항목입니다.")]
    )
