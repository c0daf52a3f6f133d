"""Ctrl-C that H2O cannot swallow.

H2O's progress bars catch KeyboardInterrupt, cancel the server job and
return as if it had finished. The watch remembers the signal so the job can
stop at its next checkpoint instead of registering a half-trained model.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class InterruptWatch:
    """Remembers whether Ctrl-C arrived while the watch was on."""

    def __init__(self) -> None:
        self.interrupted = False

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C arrived, even if someone caught it."""
        if self.interrupted:
            raise KeyboardInterrupt


@contextmanager
def watch_interrupts() -> Iterator[InterruptWatch]:
    """Record SIGINT while the block runs; any error after it becomes Ctrl-C."""
    watch = InterruptWatch()
    if threading.current_thread() is not threading.main_thread():
        yield watch
        return

    def _on_interrupt(signum: int, frame: FrameType | None) -> None:
        watch.interrupted = True
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, _on_interrupt)
    try:
        yield watch
    except Exception as exc:
        # Some h2o calls turn Ctrl-C into their own error (H2OJobCancelled).
        if watch.interrupted:
            raise KeyboardInterrupt from exc
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
