from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, login_user, logout_user

from pybo.auth import service
from pybo.auth.forms import PasswordChangeForm, UserCreateForm, UserLoginForm
from pybo.common.redirects import next_url, safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/signup/", methods=("GET", "POST"))
def signup():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            service.signup(form.username.data, form.email.data, form.password1.data)
        except service.AccountError as exc:
            flash(str(exc), "danger")
        else:
            flash("가입되었습니다. 로그인해 주세요.", "success")
            return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/login/", methods=("GET", "POST"))
def login():
    form = UserLoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.username.data, form.password.data)
        except service.AccountError as exc:
            flash(str(exc), "danger")
        else:
            login_user(user)
            return redirect(next_url())
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form, next=safe_next()), status


@bp.route("/logout/", methods=("POST",))
def logout():
    logout_user()
    return redirect(url_for("main.index"))


@bp.route("/password/", methods=("GET", "POST"))
@login_required
def password_change():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            service.change_password(current_user, form.current.data, form.password1.data)
        except service.AccountError as exc:
            flash(str(exc), "danger")
        else:
            flash("비밀번호가 변경되었습니다.", "success")
            return redirect(url_for("user.profile", username=current_user.username))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/password_change.html", form=form), status
