"""Start services in their own process groups, record them, and stop them.

Each service runs in a new session, so its whole process tree (MLflow's
server starts a uvicorn child, the scorer a JVM) shares one process group:
stopping the group stops everything the service started, and Ctrl-C in the
terminal reaches only the supervisor, which stops the groups in order. A pid
file per service lets ``make down`` stop what a killed supervisor left.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ops.ports import process_argv

logger = logging.getLogger(__name__)

_PROC = Path("/proc")
_POLL_S = 0.1
_KILL_GRACE_S = 5.0
# Interpreter, "-m", module: enough to tell our service from a reused pid.
_IDENTITY_ARGS = 3


@dataclass(frozen=True)
class PidRecord:
    """What a pid file holds: the service, its group leader and its command."""

    name: str
    pid: int
    argv: tuple[str, ...]

    def write(self, path: Path) -> None:
        """Write the record as JSON."""
        content = {"name": self.name, "pid": self.pid, "argv": list(self.argv)}
        path.write_text(json.dumps(content) + "\n")

    @classmethod
    def read(cls, path: Path) -> PidRecord | None:
        """Read a record, or None when the file is missing or not a record."""
        if not path.is_file():
            return None
        try:
            content = json.loads(path.read_text())
            return cls(
                str(content["name"]), int(content["pid"]), tuple(content["argv"])
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring unreadable pid file %s: %s", path, exc)
            return None

    def is_running(self) -> bool:
        """Whether the recorded process group still has a live member."""
        leader_argv = process_argv(self.pid)
        if (
            leader_argv is not None
            and leader_argv[:_IDENTITY_ARGS] != self.argv[:_IDENTITY_ARGS]
        ):
            # The pid was reused by an unrelated process: not ours to stop.
            return False
        return bool(group_members(self.pid))


def pid_file(state_dir: Path, name: str) -> Path:
    """Where the pid file of a service lives."""
    return state_dir / f"{name}.pid"


def log_file(state_dir: Path, name: str) -> Path:
    """Where the log of a service lives."""
    return state_dir / f"{name}.log"


def spawn(
    name: str,
    argv: Sequence[str],
    environment: Mapping[str, str],
    *,
    state_dir: Path,
    cwd: Path,
) -> subprocess.Popen[bytes]:
    """Start a service in its own session, logging to ``<state_dir>/<name>.log``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_file(state_dir, name)
    with log_path.open("ab") as log:
        log.write(
            f"\n==> {time.strftime('%F %T')} starting: {' '.join(argv)}\n".encode()
        )
        log.flush()
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=child_environment(environment),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    PidRecord(name, process.pid, tuple(argv)).write(pid_file(state_dir, name))
    logger.info("started %s as pid %s", name, process.pid)
    return process


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child: this process's own plus the service's settings."""
    # The one place ops reads os.environ: children inherit PATH, JAVA_HOME, HOME.
    return {**os.environ, **extra}


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def stop_group(
    pgid: int, *, timeout_s: float, process: subprocess.Popen[bytes] | None = None
) -> bool:
    """SIGTERM a process group, SIGKILL it after ``timeout_s``; True when it is gone."""
    if _signal_group(pgid, signal.SIGTERM) and _wait_group_gone(
        pgid, timeout_s, process
    ):
        return True
    logger.warning(
        "process group %s ignored SIGTERM for %.0f s: killing it", pgid, timeout_s
    )
    _signal_group(pgid, signal.SIGKILL)
    return _wait_group_gone(pgid, _KILL_GRACE_S, process)


def _signal_group(pgid: int, signum: signal.Signals) -> bool:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return True
    except PermissionError as exc:
        logger.warning("cannot signal process group %s: %s", pgid, exc)
        return False
    return True


def _wait_group_gone(
    pgid: int, timeout_s: float, process: subprocess.Popen[bytes] | None
) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if process is not None:
            # Reap our own child, or it lingers as a zombie in the group.
            process.poll()
        if not group_members(pgid):
            if process is not None:
                # The leader may have died after the poll above: reap it now.
                process.wait(timeout=_KILL_GRACE_S)
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
