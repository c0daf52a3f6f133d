"""Which TCP ports are free, and which process listens on a taken one.

The owner comes from the kernel's socket tables (``/proc/net/tcp``,
``/proc/net/tcp6``) matched against each process's open file descriptors;
``ss -ltnp`` is the fallback when ``/proc`` does not show the process (another
user's, or a container's).
"""

from __future__ import annotations

import logging
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

_PROC = Path("/proc")
_TCP_TABLES = ("net/tcp", "net/tcp6")
_LISTEN_STATE = "0A"
_SS_USER = re.compile(r'\("(?P<name>[^"]+)",pid=(?P<pid>\d+)')
_COMMAND_SHOWN = 120


@dataclass(frozen=True)
class PortOwner:
    """The process listening on a port, as far as this user can see it."""

    port: int
    pid: int | None
    command: str | None

    def describe(self) -> str:
        """One line naming the owner, e.g. ``pid 4242 (python -m serving)``."""
        if self.pid is None:
            return "a process this user cannot see (another user's or a container's)"
        if self.command is None:
            return f"pid {self.pid}"
        return f"pid {self.pid} ({self.command})"


def is_port_free(host: str, port: int) -> bool:
    """Whether a server could bind ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Servers set SO_REUSEADDR too: a port left in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_owner(port: int) -> PortOwner | None:
    """The process listening on ``port`` (any address), or None when none does."""
    inodes = _listening_inodes(port)
    if not inodes:
        return _owner_from_ss(port)
    pid = _pid_holding(inodes)
    if pid is None:
        return _owner_from_ss(port) or PortOwner(port, None, None)
    return PortOwner(port, pid, process_command(pid))


def process_argv(pid: int) -> tuple[str, ...] | None:
    """The argument list of a process, or None when it is gone or hidden."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    argv = tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    return argv or None


def process_command(pid: int) -> str | None:
    """The command line of a process, shortened for display, or None."""
    argv = process_argv(pid)
    if argv is None:
        return None
    command = " ".join(argv)
    if len(command) > _COMMAND_SHOWN:
        command = command[: _COMMAND_SHOWN - 3] + "..."
    return command


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in _TCP_TABLES:
        try:
            lines = (_PROC / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == _LISTEN_STATE:
                inodes.add(fields[9])
    inodes.discard("0")
    return inodes


def _pid_holding(inodes: set[str]) -> int | None:
    targets = {f"socket:[{inode}]" for inode in inodes}
    for process in _PROC.iterdir():
        if not process.name.isdigit():
            continue
        try:
            descriptors = list((process / "fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                if descriptor.readlink().as_posix() in targets:
                    return int(process.name)
            except OSError:
                continue
    return None


def _owner_from_ss(port: int) -> PortOwner | None:
    ss = shutil.which("ss")
    if ss is None:
        return None
    try:
        listing = subprocess.run(
            [ss, "-H", "-ltnp", f"sport = :{port}"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("ss failed for port %s: %s", port, exc)
        return None
    if not listing.strip():
        return None
    match = _SS_USER.search(listing)
    if match is None:
        return PortOwner(port, None, None)
    pid = int(match["pid"])
    return PortOwner(port, pid, process_command(pid) or match["name"])
