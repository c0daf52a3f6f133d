"""Start, watch and stop the stack's services as process groups."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from ops.health import probe
from ops.processes import log_file, pid_file, spawn, stop_group
from ops.services import Service

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_PROGRESS_EVERY_S = 5.0
_POLL_S = 0.5
_LOG_TAIL_LINES = 25


class StackError(RuntimeError):
    """The stack cannot start or keep running; the message says what to do."""


class StopRequested(Exception):
    """Ctrl-C or SIGTERM arrived before the stack was up."""


class Supervisor:
    """Owns the processes of the services it started, one process group each."""

    def __init__(
        self,
        services: Sequence[Service],
        *,
        state_dir: Path,
        stop_timeout_s: float,
        probe_timeout_s: float,
        out: TextIO = sys.stdout,
    ) -> None:
        self.services = {service.name: service for service in services}
        self.state_dir = state_dir
        self.stop_timeout_s = stop_timeout_s
        self.probe_timeout_s = probe_timeout_s
        self.out = out
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._ready: set[str] = set()

    def start(self, name: str) -> None:
        """Start one service with the interpreter running this supervisor."""
        service = self.services[name]
        argv = service.command.with_interpreter(sys.executable)
        self._ready.discard(name)
        self.processes[name] = spawn(
            name,
            argv,
            service.command.environment,
            state_dir=self.state_dir,
            cwd=PROJECT_ROOT,
        )

    def wait_healthy(
        self, names: Iterable[str], *, timeout_s: float, stop: threading.Event
    ) -> None:
        """Wait until each service answers its health URL, printing progress."""
        pending = [name for name in names if name not in self._ready]
        started = time.monotonic()
        next_progress = started + _PROGRESS_EVERY_S
        while pending:
            for name in list(pending):
                self._raise_if_exited(name)
                service = self.services[name]
                if probe(service.health_url, timeout_s=self.probe_timeout_s).ok:
                    elapsed = time.monotonic() - started
                    self._say(f"  {name:<7} ready after {elapsed:.1f} s")
                    pending.remove(name)
                    self._ready.add(name)
            now = time.monotonic()
            if pending and now >= next_progress:
                self._say(self._progress(pending, now - started))
                next_progress = now + _PROGRESS_EVERY_S
            if pending and now - started > timeout_s:
                raise StackError(
                    f"{', '.join(pending)} not healthy after {timeout_s:.0f} s; "
                    f"{self._log_hint(pending)} (raise OPS_STARTUP_TIMEOUT_S if the "
                    "machine is just slow)"
                )
            if pending and stop.wait(_POLL_S):
                raise StopRequested

    def watch(self, stop: threading.Event) -> None:
        """Return when a stop is requested; raise when a service exits on its own."""
        while not stop.wait(_POLL_S):
            for name in list(self.processes):
                self._raise_if_exited(name)

    def stop(self, name: str) -> None:
        """Stop one service's whole process group and forget its pid file."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        gone = stop_group(process.pid, timeout_s=self.stop_timeout_s, process=process)
        process.poll()
        if gone:
            pid_file(self.state_dir, name).unlink(missing_ok=True)
        else:
            self._say(f"  {name:<7} pid {process.pid} did not stop; try `make down`")

    def stop_all(self) -> None:
        """Stop every running service, the last started first."""
        for name in reversed(list(self.processes)):
            started = time.monotonic()
            self.stop(name)
            self._say(f"  {name:<7} stopped in {time.monotonic() - started:.1f} s")

    def _raise_if_exited(self, name: str) -> None:
        process = self.processes[name]
        code = process.poll()
        if code is None:
            return
        del self.processes[name]
        pid_file(self.state_dir, name).unlink(missing_ok=True)
        raise StackError(
            f"{name} exited with code {code}. Last lines of "
            f"{log_file(self.state_dir, name)}:\n{self._log_tail(name)}"
        )

    def _progress(self, pending: Sequence[str], elapsed: float) -> str:
        waits = []
        for name in pending:
            answer = probe(
                self.services[name].health_url, timeout_s=self.probe_timeout_s
            )
            waits.append(f"{name}: {answer.describe()}")
        return f"  ... {elapsed:.0f} s, waiting for " + "; ".join(waits)

    def _log_hint(self, names: Sequence[str]) -> str:
        logs = ", ".join(str(log_file(self.state_dir, name)) for name in names)
        return f"read {logs}"

    def _log_tail(self, name: str) -> str:
        try:
            lines = (
                log_file(self.state_dir, name).read_text(errors="replace").splitlines()
            )
        except OSError as exc:
            return f"    (no log: {exc})"
        return "\n".join(f"    {line}" for line in lines[-_LOG_TAIL_LINES:])

    def _say(self, line: str) -> None:
        print(line, file=self.out, flush=True)
