"""HTTP servers under test: started as subprocesses, timed to ready, measured.

Each server runs in its own process group so that stopping it also stops
the children it started (the scorer's JVM, an H2O cluster under MLflow).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

logger = logging.getLogger(__name__)

# servers run `python -m <package>` of this repository
REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RunningServer:
    """A started server: where it answers and how long it took to get there."""

    base_url: str
    process: subprocess.Popen[bytes]
    start_to_ready_s: float
    log_path: Path

    def rss_mb(self) -> float:
        """Resident memory of the server process and all its descendants."""
        pids = [self.process.pid, *descendants(self.process.pid)]
        return sum(rss_kb(pid) for pid in pids) / 1024.0

    def rss_by_process_mb(self) -> dict[str, float]:
        """Resident memory per process (name: MB) of the server and descendants."""
        pids = [self.process.pid, *descendants(self.process.pid)]
        return {f"{process_name(pid)}[{pid}]": rss_kb(pid) / 1024.0 for pid in pids}


def _parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces; fields after it are plain
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_pid(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def rss_kb(pid: int) -> int:
    """VmRSS of one process in kB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def wait_ready(
    url: str, process: subprocess.Popen[bytes], timeout_s: float, log_path: Path
) -> None:
    """Poll ``url`` until it answers 200; fail early if the process exits."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"the server exited with {process.returncode} before it was "
                    f"ready at {url}; its log ends with:\n{tail}"
                )
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise TimeoutError(
        f"{url} did not answer 200 within {timeout_s:.0f} s; see {log_path}"
    )


def stop(process: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it lingers.

    Children that left the group (H2O starts its JVM in a new session) are
    remembered first and ended by pid afterwards if they outlived the server.
    """
    children = descendants(process.pid)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            logger.warning("pid %d ignored SIGTERM; killing it", process.pid)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=grace_s)
    _end_orphans(children, grace_s)


def _end_orphans(pids: list[int], grace_s: float) -> None:
    alive = [pid for pid in pids if rss_kb(pid) > 0]
    for pid in alive:
        logger.warning(
            "pid %d (%s) outlived its server; ending it", pid, process_name(pid)
        )
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if rss_kb(pid) > 0]
        time.sleep(0.1)
    for pid in alive:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def serve(
    command: list[str],
    *,
    port: int,
    ready_path: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 120.0,
) -> Iterator[RunningServer]:
    """Start ``command``, wait for ``ready_path`` to answer, stop it on exit."""
    base_url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, **(env or {})}
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd or REPO_ROOT,
            start_new_session=True,
        )
        try:
            wait_ready(base_url + ready_path, process, timeout_s, log_path)
            ready_s = time.perf_counter() - started
            logger.info("%s ready in %.2f s", " ".join(command[:4]), ready_s)
            yield RunningServer(base_url, process, ready_s, log_path)
        finally:
            stop(process)
