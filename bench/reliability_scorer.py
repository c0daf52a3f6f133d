"""Scorer processes for the reliability checks: start, find the JVMs, measure memory.

The checks talk to any object shaped like :class:`ScorerHandle`: the test
fixtures' ``RunningScorer`` fits, and :class:`ScorerProcess` is the same
thing for the command-line run (``python -m serving`` under uvicorn on a free
127.0.0.1 port, its own working folder and log).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import httpx

from bench.servers import descendants, free_port, process_name, rss_kb

_READY_TIMEOUT_S = 120.0
_STOP_TIMEOUT_S = 15.0


class ScorerHandle(Protocol):
    """What a check needs from a running scorer."""

    base_url: str
    process: subprocess.Popen[bytes]

    def log_text(self) -> str: ...

    def jvm_pids(self) -> list[int]: ...

    def wait_ready(self, timeout_s: float = ...) -> dict[str, object]: ...

    def stop(self) -> None: ...


StartScorer = Callable[..., Any]


@dataclass
class ScorerProcess:
    """A scorer started by :func:`launch`; mirrors the tests' RunningScorer."""

    base_url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    work_dir: Path
    log_path: Path
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    def log_text(self) -> str:
        """Everything the scorer has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def jvm_pids(self) -> list[int]:
        """The JVMs this scorer started."""
        return java_children(self.process.pid)

    def wait_ready(self, timeout_s: float = _READY_TIMEOUT_S) -> dict[str, object]:
        """Poll /health/ready until 200; raise with the log tail otherwise."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the scorer exited with {self.process.returncode}; log:\n"
                    f"{self.log_text()[-3000:]}"
                )
            try:
                response = httpx.get(f"{self.base_url}/health/ready", timeout=5)
                if response.status_code == 200:
                    body: dict[str, object] = response.json()
                    return body
                last = response.text
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise RuntimeError(f"the scorer was not ready in {timeout_s:.0f} s: {last}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()


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
        scorer = launch(self.root / f"scorer-{index}", wait=wait, **settings)
        self.started.append(scorer)
        return scorer

    def stop_all(self) -> None:
        """Stop every scorer this launcher started."""
        for scorer in self.started:
            scorer.stop()


def launch(work_dir: Path, *, wait: bool = True, **settings: object) -> ScorerProcess:
    """Start ``python -m serving`` in ``work_dir``; SERVING_* from ``settings``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVING_")}
    env["SERVING_HOST"] = "127.0.0.1"
    env["SERVING_PORT"] = str(port)
    for name, value in settings.items():
        if value is not None:
            env[f"SERVING_{name.upper()}"] = str(value)
    log_path = work_dir / "scorer.log"
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "serving"],
        cwd=work_dir,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    scorer = ScorerProcess(
        base_url=f"http://127.0.0.1:{port}",
        process=process,
        env=env,
        work_dir=work_dir,
        log_path=log_path,
        _log_file=log_file,
    )
    if wait:
        try:
            scorer.wait_ready()
        except RuntimeError:
            scorer.stop()
            raise
    return scorer


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
