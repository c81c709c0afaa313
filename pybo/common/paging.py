"""Paging that never shows an empty page past the end: `?page=` beyond the last page
shows the last page instead (a stale link after deletions, a hand-edited URL)."""

from pybo.extensions import db


def clamped(make, page):
    """`make(page)` → a Pagination; re-made on its last page when `page` is past it."""
    pagination = make(page)
    if page > 1 and pagination.pages and page > pagination.pages:
        return make(pagination.pages)
    return pagination


def paginate(query, page, per_page):
    """`db.paginate` of a select, on the last page when `page` is past the end."""
    return clamped(
        lambda number: db.paginate(query, page=number, per_page=per_page, error_out=False), page
    )
