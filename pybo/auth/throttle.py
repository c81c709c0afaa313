"""Login and sign-up throttling (Flask-Limiter).

Failed POSTs to /auth/login/ and /auth/signup/ are counted per account (the user name
typed) and per client address; a success (the redirect) is not counted. Past either
limit the page answers 429 with `Retry-After` and a Korean message, whatever the
password: guessing stops even with the right one.

Settings (config.py): LOGIN_LIMIT_PER_ACCOUNT (default 5 per minute),
LOGIN_LIMIT_PER_ADDRESS (20 per minute), RATELIMIT_ENABLED (off in TestConfig),
RATELIMIT_STORAGE_URI. Counters live in RATELIMIT_STORAGE_URI when set, else in the
Celery broker's Redis when that is configured, else in process memory (per gunicorn
worker). Unreachable storage falls back to memory with a warning, at start and later.
Behind a reverse proxy the address is the proxy's unless the app is wrapped in
werkzeug's ProxyFix.
"""

import logging
import math
import time

from flask import current_app, flash, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits.storage import storage_from_string

log = logging.getLogger(__name__)

THROTTLED_ENDPOINTS = {
    "auth.login": "로그인",
    "auth.signup": "가입",
}
STORAGE_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}  # Redis only


def _failed(response):
    """Only failures count: a login or sign-up that worked answers with a redirect."""
    return response.status_code != 302


def _account_key():
    return "account:" + request.form.get("username", "", type=str).strip().lower()[:50]


def _address_key():
    return "address:" + (get_remote_address() or "")


def storage_uri(config):
    """RATELIMIT_STORAGE_URI, else the Celery broker's Redis, else memory."""
    uri = config.get("RATELIMIT_STORAGE_URI") or ""
    if uri:
        return uri
    broker = config.get("CELERY_BROKER_URL") or ""
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return "memory://"


def reachable_storage_uri(config):
    """`storage_uri(config)`, or memory when that storage does not answer now."""
    uri = storage_uri(config)
    if uri.startswith("memory://"):
        return uri
    options = STORAGE_OPTIONS if uri.startswith(("redis", "rediss")) else {}
    try:
        ok = storage_from_string(uri, **options).check()
    except Exception as exc:  # noqa: BLE001 - any driver error means "not reachable"
        log.warning("Throttle storage error (%s): %s", type(exc).__name__, exc)
        ok = False
    if not ok:
        log.warning("Throttle storage unreachable; counting login attempts in memory instead")
        return "memory://"
    return uri


def retry_after(limiter):
    """Seconds until the breached window ends (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    seconds = math.ceil(current.reset_at - time.time())
    return min(max(1, seconds), current.limit.get_expiry())


def _too_many(error):
    from pybo.auth.forms import UserCreateForm, UserLoginForm
    from pybo.common.errors import render_error
    from pybo.common.redirects import safe_next

    seconds = retry_after(current_app.extensions["pybo_limiter"])
    what = THROTTLED_ENDPOINTS.get(request.endpoint, "요청")
    message = f"{what} 시도가 너무 많아요. {seconds}초 후에 다시 시도해 주세요."
    log.info("Throttled %s from %s (%s)", request.endpoint, request.remote_addr, error.description)
    if request.endpoint == "auth.login":
        flash(message, "danger")
        page = render_template("auth/login.html", form=UserLoginForm(), next=safe_next())
    elif request.endpoint == "auth.signup":
        flash(message, "danger")
        page = render_template("auth/signup.html", form=UserCreateForm())
    else:
        page = render_error(429, message)[0]
    return page, 429, {"Retry-After": str(seconds)}


def init_app(app):
    """Build this app's limiter and put the limits on the login and sign-up views."""
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config["RATELIMIT_STORAGE_URI"] = (
        reachable_storage_uri(app.config) if app.config["RATELIMIT_ENABLED"] else "memory://"
    )
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "pybo-throttle")
    limiter = Limiter(
        key_func=get_remote_address,
        in_memory_fallback_enabled=True,
        storage_options=STORAGE_OPTIONS if app.config["RATELIMIT_STORAGE_URI"].startswith(
            "redis") else {},
        headers_enabled=False,  # the 429 page sets Retry-After itself
    )  # fmt: skip
    limiter.init_app(app)
    app.extensions["pybo_limiter"] = limiter
    account = app.config.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute")
    address = app.config.get("LOGIN_LIMIT_PER_ADDRESS", "20 per minute")
    for endpoint in THROTTLED_ENDPOINTS:
        view = app.view_functions[endpoint]
        view = limiter.limit(address, key_func=_address_key, methods=["POST"], deduct_when=_failed)(
            view
        )
        view = limiter.limit(account, key_func=_account_key, methods=["POST"], deduct_when=_failed)(
            view
        )
        app.view_functions[endpoint] = view
    app.register_error_handler(RateLimitExceeded, _too_many)
