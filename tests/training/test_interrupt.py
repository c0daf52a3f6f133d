"""Ctrl-C during AutoML: exit 130, no registered version, local H2O stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.fixtures.environment import free_port
from training.cluster import check_port_free

REPO = Path(__file__).resolve().parents[2]
_START_TIMEOUT_S = 240


def _wait_for_line(process: subprocess.Popen[str], words: str) -> list[str]:
    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if words in line:
            return seen
    raise AssertionError(f"never saw {words!r}; stderr so far: {''.join(seen)}")


@pytest.mark.slow
def test_ctrl_c_during_automl_registers_nothing_and_stops_h2o(tmp_path: Path) -> None:
    port = free_port()
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    command = [
        sys.executable,
        "-m",
        "training",
        "--h2o-port",
        str(port),
        "--h2o-memory",
        "1G",
        "--max-models",
        "20",
        "--max-runtime-secs",
        "120",
        "--tracking-uri",
        tracking_uri,
        "--artifact-root",
        str(tmp_path / "mlruns"),
    ]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        _wait_for_line(process, "AutoML: up to")
        time.sleep(3)

        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 130
    assert rest.strip().splitlines()[-1] == "error: interrupted, nothing was registered"
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    assert client.search_model_versions("name='mojo-demo'") == []
    check_port_free(port)
