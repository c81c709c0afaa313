"""A stream that never ends is worse than an error: the idle watchdog.

After a restart a follow-up question once got 200 and then nothing for over two
minutes (model load and a long condense step ran before any event). `guarded()` runs
the answer's event generator in a worker thread and hands its items over a queue;
when none arrives for `idle_seconds` it sets `cancel` (the generator is closed at its
next step, which stops the model) and raises `StreamIdle`, which the caller turns into
an `error` event. No Flask here: the caller passes what the worker must enter (an app
context) as `context`.
"""

import contextlib
import logging
import queue
import threading
import time

log = logging.getLogger(__name__)
_ITEM, _END, _FAIL = "item", "end", "fail"


class StreamIdle(RuntimeError):
    """No event for longer than the allowed idle time."""


def guarded(events, idle_seconds, cancel=None, context=None):
    """Yield the items of generator `events` as they come; raise `StreamIdle` after
    `idle_seconds` without one. `cancel` (a `threading.Event`) is set on timeout and
    when the consumer stops early; the worker then closes `events` at its next step
    (and a model that checks `cancel` stops within a step)."""
    cancel = cancel or threading.Event()
    handoff = queue.Queue()
    worker = threading.Thread(
        target=_pump, args=(events, handoff, cancel, context), name="chat-stream", daemon=True
    )
    worker.start()
    finished = False
    try:
        while True:
            deadline = time.monotonic() + idle_seconds
            while True:
                try:
                    kind, value = handoff.get(timeout=max(0.0, deadline - time.monotonic()))
                    break
                except queue.Empty:
                    if time.monotonic() >= deadline:
                        raise StreamIdle(f"no event for {idle_seconds} s") from None
            if kind in (_END, _FAIL):
                finished = True
                if kind == _FAIL:
                    raise value
                return
            yield value
    finally:
        if not finished:
            cancel.set()  # idle or abandoned by the consumer: the worker stops


def _pump(events, handoff, cancel, context):
    with context if context is not None else contextlib.nullcontext():
        try:
            for item in events:
                if cancel.is_set():
                    break
                handoff.put((_ITEM, item))
            handoff.put((_END, None))
        except BaseException as exc:  # handed to the consumer, which reports it
            handoff.put((_FAIL, exc))
        finally:
            events.close()  # a cancelled answer stops the model here
