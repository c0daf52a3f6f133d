"""One scorer as a child process: ``python -m serving`` on 127.0.0.1.

The scorer runs in its own working folder (so nothing lands in the real
``artifacts/``), logs to ``scorer.log`` there, takes its settings as SERVING_*
variables and answers on a free loopback port unless given one. The test
fixtures and the reliability bench both start scorers through here.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ops.processes import child_environment

# Generous: a cold JVM plus a model download on 2 shared cores.
READY_TIMEOUT_S = 120.0
_STOP_TIMEOUT_S = 15.0
_POLL_S = 0.1
_LOG_TAIL_CHARS = 4000
_PROC = Path("/proc")


@dataclass
class ScorerProcess:
    """A started scorer process and how to reach it."""

    base_url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    work_dir: Path
    log_path: Path

    @property
    def admin_token(self) -> str | None:
        """The admin token this scorer was started with, if any."""
        return self.env.get("SERVING_ADMIN_TOKEN")

    def log_text(self) -> str:
        """Everything the scorer has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def jvm_pids(self) -> list[int]:
        """Process ids of the JVMs anywhere below the scorer process."""
        return [pid for pid in _descendants(self.process.pid) if _is_java(pid)]

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> dict[str, object]:
        """Poll /health/ready until it answers 200; return its body."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                response = httpx.get(f"{self.base_url}/health/ready", timeout=5)
                if response.status_code == 200:
                    body: dict[str, object] = response.json()
                    return body
                last = response.text
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(_POLL_S)
        raise RuntimeError(
            f"the scorer at {self.base_url} was not ready within {timeout_s:.0f} s "
            f"({last}); log:\n{self._log_tail()}"
        )

    def wait_live(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll /health/live until the process answers at all."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                response = httpx.get(f"{self.base_url}/health/live", timeout=5)
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(_POLL_S)
        raise RuntimeError(
            f"the scorer at {self.base_url} did not answer /health/live within "
            f"{timeout_s:.0f} s; log:\n{self._log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _raise_if_exited(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"the scorer exited with code {self.process.returncode}; log:\n"
                f"{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        return self.log_text()[-_LOG_TAIL_CHARS:]


def scorer_env(port: int, **settings: object) -> dict[str, str]:
    """The environment of a scorer: SERVING_* from keyword settings, None left out."""
    inherited = child_environment({})
    env = {k: v for k, v in inherited.items() if not k.startswith("SERVING_")}
    env["SERVING_HOST"] = "127.0.0.1"
    env["SERVING_PORT"] = str(port)
    for name, value in settings.items():
        if value is not None:
            env[f"SERVING_{name.upper()}"] = str(value)
    return env


def launch_scorer(
    work_dir: Path, *, port: int | None = None, wait: bool = True, **settings: object
) -> ScorerProcess:
    """Start ``python -m serving`` in ``work_dir``; wait for readiness if ``wait``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port() if port is None else port
    env = scorer_env(port, **settings)
    log_path = work_dir / "scorer.log"
    # The child keeps its own copy of the descriptor: ours can close at once.
    with log_path.open("ab") as log_file:
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
    )
    if wait:
        try:
            scorer.wait_ready()
        except RuntimeError:
            scorer.stop()
            raise
    return scorer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _descendants(root: int) -> list[int]:
    """Every live process below ``root``, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _is_java(pid: int) -> bool:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip() == "java"
    except OSError:
        return False
