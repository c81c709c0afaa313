"""Request arguments and URL parts that must stay within what the database accepts."""

from flask import abort, request
from werkzeug.routing import IntegerConverter

MAX_PAGE = 1_000_000
MAX_ID = 2**63 - 1


def page_arg(name="page"):
    """A page number from the query string: 1 when missing or bad, never huge."""
    page = request.args.get(name, type=int, default=1)
    return min(max(page, 1), MAX_PAGE)


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` limited to 64-bit ids, so an absurd id is a 404, not a database error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _has_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def refuse_nul_bytes():
    """No text field may carry NUL: PostgreSQL cannot store it, and no user types it.
    Uploaded files are not form values, so PDFs are unaffected."""
    values = [request.path, *request.args.values(), *request.form.values()]
    if any("\x00" in v for v in values) or (
        request.is_json and _has_nul(request.get_json(silent=True))
    ):
        abort(400)


def init_app(app):
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_nul_bytes)
