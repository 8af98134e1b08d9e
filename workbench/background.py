"""Background threads (streaming generation, fine-tuning) that end cleanly when Python exits.

A daemon thread still inside a torch operation when the interpreter shuts down aborts the whole process
("terminate called without an active exception", exit code 134): torch's thread pool is torn down under it. So
every such thread is started here with a way to ask it to stop; at exit each live one is asked, then joined.
Stopping is the thread's own clean path (a generation ends after its current token; a fine-tuning run after its
current step, writing its checkpoint as Stop always does).
"""
from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable

EXIT_TIMEOUT_SECONDS = 60.0  # the longest Python's exit waits for the threads together (one training step)

_running: dict[threading.Thread, Callable[[], None]] = {}  # live thread -> how to ask it to stop
_lock = threading.Lock()


def start_background(target: Callable[[], None], *, name: str, stop: Callable[[], None]) -> threading.Thread:
    """Run `target` in a daemon thread; at interpreter exit `stop()` is called and the thread joined."""
    def run() -> None:
        try:
            target()
        finally:
            with _lock:
                _running.pop(threading.current_thread(), None)

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _lock:
        _running[thread] = stop
    thread.start()
    return thread


@atexit.register
def stop_all(timeout: float = EXIT_TIMEOUT_SECONDS) -> None:
    """Ask every live background thread to stop, then wait for them (at most `timeout` seconds in all)."""
    with _lock:
        running = list(_running.items())
    for _, stop in running:
        stop()
    deadline = time.monotonic() + timeout
    for thread, _ in running:
        thread.join(max(0.0, deadline - time.monotonic()))
