"""Request arguments and URL parts that must stay within what the database accepts."""

from flask import request
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


def init_app(app):
    app.url_map.converters["int"] = BoundedIntConverter
