"""Redirect targets taken from requests (`next`), limited to this site.

Browsers are lenient with a `Location`: they drop tabs and line breaks anywhere, read a
backslash as a slash, and treat `//host` (or `////host`) as another site. A target is
therefore normalized the way a browser might read it (and percent-decoded a few rounds,
for targets that are decoded once more on the way) before it is judged, and only a plain
path on this site is kept: one leading `/`, no scheme, no host.
"""

import re
from urllib.parse import unquote, urlsplit

from flask import request, url_for

_STRIPPED = re.compile(r"[\t\r\n]")
_DECODE_ROUNDS = 4


def _normalized(target):
    for _ in range(_DECODE_ROUNDS):
        cleaned = unquote(_STRIPPED.sub("", target).replace("\\", "/"))
        if cleaned == target:
            break
        target = cleaned
    return _STRIPPED.sub("", target).replace("\\", "/")


def is_safe_path(target):
    """True for a path on this site: `/question/list/?page=2`, not `//evil.com` or `https:x`."""
    if not target or not isinstance(target, str):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False  # never echoed into a header, whatever the normalized form says
    path = _normalized(target)
    if not path.startswith("/") or path.startswith("//"):
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return False
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc


def safe_next():
    """The request's `next` when it is a path on this site, else an empty string."""
    target = request.values.get("next", "")
    return target if is_safe_path(target) else ""


def next_url(default_endpoint="main.index"):
    """The `next` parameter when it points to this site, else the default page."""
    return safe_next() or url_for(default_endpoint)
