"""The one rule for errors a user or an admin reads: a short Korean message and a
reference number; the details (exception, traceback, server paths) go to the log under
the same reference, so a report from a user leads straight to the cause.

No Flask here: the knowledge layer, jobs and views all use it.
"""

import logging
import secrets

log = logging.getLogger("pybo.incidents")


def new_reference():
    """8 hex digits: short enough to read over the phone, unique enough for a log."""
    return secrets.token_hex(4)


def with_reference(message, reference):
    return f"{message} (참조 번호 {reference})"


def report(message, exc=None, logger=None, **context):
    """Log `exc` with its traceback under a fresh reference and return the text for the
    user: `message (참조 번호 1a2b3c4d)`. `message` must already be user-safe Korean."""
    reference = new_reference()
    details = " ".join(f"{key}={value!r}" for key, value in context.items())
    (logger or log).error(
        "[%s] %s %s", reference, message, details, exc_info=exc if exc is not None else False
    )
    return with_reference(message, reference)
