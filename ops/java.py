"""Which Java the services would start: the scorer's JVM and H2O need 17 or later."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

_VERSION = re.compile(r'version "(?P<full>(?P<first>\d+)(?:\.(?P<second>\d+))?[^"]*)"')


@dataclass(frozen=True)
class JavaVersion:
    """The ``java`` on the PATH: its version text and major number."""

    path: str
    full: str
    major: int


class JavaNotFoundError(RuntimeError):
    """No usable ``java`` on the PATH."""


def java_version() -> JavaVersion:
    """Run ``java -version`` and read its major version (8 for ``1.8.0_…``)."""
    path = shutil.which("java")
    if path is None:
        raise JavaNotFoundError("no `java` on the PATH")
    try:
        result = subprocess.run(
            [path, "-version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise JavaNotFoundError(f"`{path} -version` failed: {exc}") from exc
    match = _VERSION.search(result.stderr + result.stdout)
    if match is None:
        first_line = (result.stderr or result.stdout).strip().splitlines()[:1]
        raise JavaNotFoundError(f"`{path} -version` printed no version: {first_line}")
    first = int(match["first"])
    major = int(match["second"] or 0) if first == 1 else first
    return JavaVersion(path, match["full"], major)
