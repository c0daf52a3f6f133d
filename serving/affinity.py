"""Which CPUs the scorer's threads run on: the event loop and its JVM thread share one.

A single-row request crosses to the JVM and back: two thread wake-ups. When the
JVM thread that answers sleeps on another core, that core has usually gone
idle by then, and waking an idle virtual CPU took about 70 us per crossing on
the machines this was measured on, more than scoring the row. So, with
``SERVING_PIN_EVENT_LOOP`` on (the default), the event loop stays on the CPU it
started on, and the JVM thread that serves its small batches
(:mod:`serving.jvm_channel`) joins it while calls come one at a time: each
crossing is then a switch on that CPU. When calls queue up (merged batches
under load), that JVM thread may run anywhere again, beside the event loop
rather than taking turns with it. The JVM's scoring threads for big batches and
every child process keep all the process's CPUs.

Linux only; elsewhere, or when the process has one CPU, nothing is pinned.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

# The process's CPUs before anything was pinned; set by pin_current_thread.
_process_cpus: frozenset[int] | None = None
_SELF_STAT = Path("/proc/thread-self/stat")
# /proc/<pid>/stat fields after the command name's closing parenthesis start
# at field 3 (state); field 39 is the CPU the thread last ran on.
_PROCESSOR_FIELD = 39 - 3


def supported() -> bool:
    """True where threads can be pinned (Linux)."""
    return hasattr(os, "sched_setaffinity") and _SELF_STAT.exists()


def thread_cpus() -> frozenset[int]:
    """The CPUs the calling thread may run on."""
    return frozenset(os.sched_getaffinity(0))


def process_cpus() -> frozenset[int]:
    """The CPUs the process had before the event loop was pinned."""
    return _process_cpus if _process_cpus is not None else thread_cpus()


def pin_current_thread() -> int | None:
    """Keep the calling thread on the CPU it runs on now; that CPU, or None."""
    global _process_cpus  # noqa: PLW0603 (one process-wide fact, set once)
    if not supported():
        return None
    cpus = thread_cpus()
    if len(cpus) < 2:
        return None
    cpu = _current_cpu()
    if cpu not in cpus:
        cpu = min(cpus)
    _process_cpus = _process_cpus or cpus
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:
        logger.info("event loop not pinned to CPU %s: %s", cpu, exc)
        return None
    logger.info("event loop pinned to CPU %s of %s", cpu, sorted(cpus))
    return cpu


def move_thread(thread_id: int, cpus: frozenset[int]) -> bool:
    """Let thread ``thread_id`` (of this process or a child) run only on ``cpus``."""
    try:
        os.sched_setaffinity(thread_id, cpus)
    except OSError as exc:
        # The thread is gone (its JVM stopped), or the CPUs were taken away.
        logger.debug("thread %s not moved to CPUs %s: %s", thread_id, cpus, exc)
        return False
    return True


@contextmanager
def every_cpu() -> Iterator[None]:
    """Run the block on all the process's CPUs: child processes inherit them."""
    if _process_cpus is None or not supported():
        yield
        return
    before = thread_cpus()
    if before == _process_cpus:
        yield
        return
    os.sched_setaffinity(0, _process_cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _current_cpu() -> int:
    """The CPU the calling thread runs on (read from /proc: no libc call)."""
    fields = _SELF_STAT.read_text().rsplit(")", 1)[1].split()
    return int(fields[_PROCESSOR_FIELD])
