"""The H2O cluster the job trains on: started on loopback and stopped, or joined."""

from __future__ import annotations

import logging
import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h2o

from training.config import Settings
from training.errors import EnvironmentProblem

logger = logging.getLogger(__name__)

MIN_JAVA_MAJOR = 8
_LOOPBACK = "127.0.0.1"
_VERSION_PATTERN = re.compile(r'version "(\d+)(?:\.(\d+))?')


@contextmanager
def h2o_session(settings: Settings, work_dir: Path) -> Iterator[str]:
    """Yield the URL of a usable cluster; a cluster started here is stopped on exit.

    An existing cluster (``h2o_url``) is only joined, never shut down.
    """
    if settings.h2o_url:
        check_cluster_answers(settings.h2o_url)
        _connect(settings.h2o_url)
        yield settings.h2o_url
        return

    check_java()
    check_port_free(settings.h2o_port)
    url = f"http://{_LOOPBACK}:{settings.h2o_port}"
    logger.info("Starting H2O on %s with %s of memory", url, settings.h2o_memory)
    try:
        h2o.init(
            ip=_LOOPBACK,
            port=settings.h2o_port,
            nthreads=settings.h2o_threads,
            max_mem_size=settings.h2o_memory,
            bind_to_localhost=True,
            ice_root=str(work_dir),
            log_dir=str(work_dir / "h2o-logs"),
            strict_version_check=True,
            verbose=False,
        )
    except Exception as exc:
        raise EnvironmentProblem(
            f"H2O did not start on {url}: {exc}. Its logs are in {work_dir}."
        ) from exc
    try:
        yield url
    finally:
        logger.info("Shutting down the H2O started on %s", url)
        _shutdown()


def preflight(settings: Settings) -> None:
    """Fail early, before anything is logged, if the cluster cannot be had."""
    if settings.h2o_url:
        check_cluster_answers(settings.h2o_url)
    else:
        check_java()
        check_port_free(settings.h2o_port)


def check_java(java: str | None = None) -> int:
    """Return the major version of ``java`` on PATH; fail clearly if absent or old."""
    executable = java or shutil.which("java")
    if executable is None:
        raise EnvironmentProblem(
            "Java was not found on PATH; H2O needs a JDK "
            f"{MIN_JAVA_MAJOR}+ (for example apt-get install openjdk-17-jdk-headless)."
        )
    try:
        answer = subprocess.run(
            [executable, "-version"],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentProblem(f"Cannot run {executable} -version: {exc}.") from exc
    found = _VERSION_PATTERN.search(answer.stderr + answer.stdout)
    if answer.returncode != 0 or found is None:
        raise EnvironmentProblem(
            f"{executable} -version did not report a Java version; install a JDK "
            f"{MIN_JAVA_MAJOR}+."
        )
    major = int(found.group(1))
    if major == 1 and found.group(2):
        major = int(found.group(2))
    if major < MIN_JAVA_MAJOR:
        raise EnvironmentProblem(
            f"Java {major} at {executable} is too old; H2O needs Java "
            f"{MIN_JAVA_MAJOR}+. Put a newer JDK first on PATH."
        )
    return major


def check_port_free(port: int) -> None:
    """Fail if the H2O port or the one above it (its internal port) is taken."""
    for candidate in (port, port + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As a server would: connections lingering in TIME_WAIT do not count.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((_LOOPBACK, candidate))
            except OSError as exc:
                raise EnvironmentProblem(
                    f"Port {candidate} on {_LOOPBACK} is already in use, and H2O "
                    f"needs ports {port} and {port + 1}. Stop what holds it, pass "
                    "--h2o-port with another port, or --h2o-url "
                    f"http://{_LOOPBACK}:{port} to train on a running H2O cluster."
                ) from exc


def check_cluster_answers(url: str) -> None:
    """Fail clearly if nothing answers H2O's REST API at ``url``."""
    probe = url.rstrip("/") + "/3/Cloud"
    try:
        with urllib.request.urlopen(probe, timeout=10) as response:  # noqa: S310
            response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EnvironmentProblem(
            f"The H2O cluster at {url} does not answer ({reason}). Check the URL "
            "and that the cluster runs, or leave --h2o-url out to start a local one."
        ) from exc


def _connect(url: str) -> None:
    logger.info("Joining the running H2O cluster at %s", url)
    try:
        h2o.connect(url=url, verbose=False, strict_version_check=True)
    except Exception as exc:
        raise EnvironmentProblem(f"Cannot use the H2O cluster at {url}: {exc}") from exc


def _shutdown() -> None:
    try:
        h2o.cluster().shutdown(prompt=False)
    except Exception:
        logger.warning("Could not shut the local H2O down cleanly", exc_info=True)
