"""Scorer processes for the reliability checks: start, find the JVMs, measure memory.

The checks talk to any object shaped like :class:`ScorerHandle`: the
:class:`ops.scorer_process.ScorerProcess` that both the test fixtures and the
command-line run (:class:`ScorerLauncher`) start fits it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bench.servers import descendants, process_name, rss_kb
from ops.scorer_process import ScorerProcess, launch_scorer


class ScorerHandle(Protocol):
    """What a check needs from a running scorer."""

    base_url: str
    process: subprocess.Popen[bytes]

    def log_text(self) -> str: ...

    def jvm_pids(self) -> list[int]: ...

    def wait_ready(self, timeout_s: float = ...) -> dict[str, object]: ...

    def stop(self) -> None: ...


StartScorer = Callable[..., Any]


class ScorerLauncher:
    """``start(**settings)`` like the ``start_scorer`` fixture; ``stop_all()`` after."""

    def __init__(self, root: Path, java_classes_dir: Path) -> None:
        self.root = root
        self.java_classes_dir = java_classes_dir
        self.started: list[ScorerProcess] = []

    def __call__(self, **settings: object) -> ScorerProcess:
        wait = bool(settings.pop("wait", True))
        index = len(self.started)
        settings.setdefault("cache_dir", self.root / f"cache-{index}")
        settings.setdefault("java_classes_dir", self.java_classes_dir)
        scorer = launch_scorer(self.root / f"scorer-{index}", wait=wait, **settings)
        self.started.append(scorer)
        return scorer

    def stop_all(self) -> None:
        """Stop every scorer this launcher started."""
        for scorer in self.started:
            scorer.stop()


def java_children(pid: int) -> list[int]:
    """Java processes anywhere below ``pid``."""
    return [child for child in descendants(pid) if process_name(child) == "java"]


@dataclass(frozen=True)
class MemorySample:
    """Resident memory of the API process and of its JVMs, in MB."""

    at_s: float
    api_mb: float
    jvm_mb: float

    @property
    def total_mb(self) -> float:
        return self.api_mb + self.jvm_mb


def memory(scorer: ScorerHandle, at_s: float = 0.0) -> MemorySample:
    """Sample the RSS of the scorer's Python process and of all its JVMs."""
    api_kb = rss_kb(scorer.process.pid)
    jvm_kb = sum(rss_kb(pid) for pid in java_children(scorer.process.pid))
    return MemorySample(at_s=at_s, api_mb=api_kb / 1024.0, jvm_mb=jvm_kb / 1024.0)
