"""Answers being generated in this process, each with its cancel flag (the stop button).

The flag is a `threading.Event` that the stream passes down to the model, whose
generation loop checks it at every step. One flag per conversation: a second answer
in the same conversation takes over the stop button.
"""

import threading


class Running:
    """Cancel flags of the answers being generated, by conversation id (per process)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._events = {}

    def begin(self, conversation_id):
        event = threading.Event()
        with self._lock:
            self._events[conversation_id] = event
        return event

    def end(self, conversation_id, event):
        with self._lock:
            if self._events.get(conversation_id) is event:
                del self._events[conversation_id]

    def cancel(self, conversation_id):
        """Ask the running answer to stop; False when none is running here."""
        with self._lock:
            event = self._events.get(conversation_id)
        if event is None:
            return False
        event.set()
        return True


running = Running()
