"""Redirect targets taken from requests (`next`, `Referer`), limited to this site."""

from urllib.parse import urlsplit

from flask import request, url_for


def is_safe_path(target):
    """True for a path on this site: `/question/list/?page=2`, not `//evil.com` or `https://...`."""
    if not target or not isinstance(target, str):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/")


def next_url(default_endpoint="main.index"):
    """The `next` parameter when it points to this site, else the default page."""
    target = request.values.get("next")
    return target if is_safe_path(target) else url_for(default_endpoint)
