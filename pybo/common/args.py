"""Request arguments and URL parts that must stay within what the database accepts.

Query-string values never reach `url_for` as they are: a key such as `endpoint`,
`_external`, `_anchor` or `_scheme` would break or reshape every link on the page.
Links that keep the current filters (pagers) take them from `link_args()`, which passes
on only the keys the board's pages use.
"""

from flask import abort, request
from werkzeug.routing import IntegerConverter

MAX_PAGE = 1_000_000
MAX_ID = 2**31 - 1  # id columns are INTEGER: 32-bit signed on PostgreSQL
LINK_KEYS = ("kw", "so", "page", "qpage", "apage", "cpage", "status", "scope")
MAX_LINK_VALUE = 200  # search words are cut to 100 characters anyway


def page_arg(name="page"):
    """A page number from the query string: 1 when missing or bad, never huge."""
    page = request.args.get(name, type=int, default=1)
    return min(max(page, 1), MAX_PAGE)


def id_arg(name):
    """An integer id from the query string (`?c=3`); None when missing, bad or out of range."""
    value = request.args.get(name, type=int)
    if value is None or not 1 <= value <= MAX_ID:
        return None
    return value


def form_ids(name):
    """Integer ids from a repeated form field (`document_ids`); bad or out-of-range ones dropped."""
    return [i for i in request.form.getlist(name, type=int) if 1 <= i <= MAX_ID]


def link_args(**overrides):
    """Arguments for a link to the current page: the route's own values, the allowed
    query keys (first value of each, length-capped), then `overrides`."""
    args = dict(request.view_args or {})
    for key in LINK_KEYS:
        value = request.args.get(key, type=str)
        if value:
            args[key] = value[:MAX_LINK_VALUE]
    args.update(overrides)
    return args


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` limited to the id columns' range, so an absurd id is a 404, not a database
    error."""

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
    app.add_template_global(link_args)
