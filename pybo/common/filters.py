"""Jinja filters: Korean datetimes and markdown, as in the tutorial."""

from pybo.common.markdown import plain_text, render


def format_datetime(value, with_time=True):
    """`2026년 11월 21일 오후 03:04`, without depending on the OS locale."""
    if value is None:
        return ""
    date = f"{value.year}년 {value.month:02d}월 {value.day:02d}일"
    if not with_time:
        return date
    half = "오전" if value.hour < 12 else "오후"
    hour = value.hour % 12 or 12
    return f"{date} {half} {hour:02d}:{value.minute:02d}"


def init_app(app):
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["markdown"] = render
    app.jinja_env.filters["plain"] = plain_text
