"""The local stack started by the tests: free ports, a temporary artifacts folder.

``running_stack`` starts from an empty folder, as on a fresh clone, so the
stack trains first (a tiny budget on the session's H2O). The other stacks use
a copy of the session's trained store (the ``trained_model`` fixture), so they
never train and leave the other areas' registry untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ops.processes import PidRecord, group_members, pid_file
from tests.fixtures.environment import free_port
from tests.fixtures.training import TrainedModel

REPO_ROOT = Path(__file__).resolve().parents[2]
OPEN_BANNER = "The restaurant is open:"
SERVICES = ("mlflow", "scorer", "ui")
STARTUP_TIMEOUT_S = 150
# MLflow creating its store, then a tiny training, then the scorer and the UI.
FRESH_STARTUP_TIMEOUT_S = 420


@dataclass(frozen=True)
class StackPlace:
    """Where one test stack lives: its artifacts folder, store and ports."""

    artifacts_dir: Path
    tracking_uri: str
    model_name: str
    ports: dict[str, int]
    train_args: tuple[str, ...] = ()

    @property
    def state_dir(self) -> Path:
        return self.artifacts_dir / "stack"

    @property
    def environment(self) -> dict[str, str]:
        """OPS_* variables for ``python -m ops.stack`` and ``python -m ops.doctor``."""
        return {
            **os.environ,
            "OPS_ARTIFACTS_DIR": str(self.artifacts_dir),
            "OPS_TRACKING_URI": self.tracking_uri,
            "OPS_MODEL_NAME": self.model_name,
            "OPS_MLFLOW_PORT": str(self.ports["mlflow"]),
            "OPS_SCORER_PORT": str(self.ports["scorer"]),
            "OPS_UI_PORT": str(self.ports["ui"]),
            "OPS_H2O_PORT": str(self.ports["h2o"]),
            "OPS_SCORER_POLL_INTERVAL_S": "1",
            "OPS_STARTUP_TIMEOUT_S": str(STARTUP_TIMEOUT_S),
            "OPS_TRAIN_ARGS": json.dumps(list(self.train_args)),
        }

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def pid_records(self) -> dict[str, PidRecord]:
        """The pid files the stack wrote, by service name."""
        records = {}
        for name in SERVICES:
            record = PidRecord.read(pid_file(self.state_dir, name))
            if record is not None:
                records[name] = record
        return records


@dataclass
class StackRun:
    """A ``python -m ops.stack up`` subprocess and what it printed."""

    place: StackPlace
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def wait_for(self, text: str, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Wait until a printed line holds ``text``; fail with the output otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"ops.stack never printed {text!r}; output:\n{self.output}")

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(
        self, signum: signal.Signals = signal.SIGINT, timeout_s: float = 60
    ) -> int:
        """Signal the supervisor and wait for it; kill it if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def copy_store(model: TrainedModel, destination: Path) -> str:
    """Copy the trained model's SQLite store; return the copy's tracking URI."""
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / "mlflow.db"
    with (
        sqlite3.connect(model.store_dir / "mlflow.db") as source,
        sqlite3.connect(target) as copy,
    ):
        source.backup(copy)
    return f"sqlite:///{target}"


def new_place(model: TrainedModel, folder: Path) -> StackPlace:
    """A stack place with free ports and a private copy of the trained registry."""
    artifacts = folder / "artifacts"
    return StackPlace(
        artifacts_dir=artifacts,
        tracking_uri=copy_store(model, artifacts),
        model_name=model.model_name,
        ports={name: free_port() for name in (*SERVICES, "h2o")},
    )


def fresh_place(folder: Path, h2o_url: str) -> StackPlace:
    """A stack place with an empty artifacts folder: the stack trains first.

    The training job joins the session's H2O cluster with a tiny budget.
    """
    artifacts = folder / "artifacts"
    return StackPlace(
        artifacts_dir=artifacts,
        tracking_uri=f"sqlite:///{artifacts / 'mlflow.db'}",
        model_name="mojo-demo",
        ports={name: free_port() for name in (*SERVICES, "h2o")},
        train_args=tiny_training_args(h2o_url),
    )


def tiny_training_args(h2o_url: str) -> tuple[str, ...]:
    """Options of `python -m training` for a fast run on a running cluster."""
    return (
        "--h2o-url",
        h2o_url,
        "--max-models",
        "1",
        "--max-runtime-secs",
        "10",
        "--nfolds",
        "0",
    )


def start_stack(place: StackPlace) -> StackRun:
    """Start ``python -m ops.stack up`` and collect its output in a thread."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.stack", "up"],
        cwd=REPO_ROOT,
        env=place.environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run = StackRun(place, process)
    stdout = process.stdout
    assert stdout is not None

    def collect() -> None:
        for line in stdout:
            run.lines.append(line)

    threading.Thread(target=collect, daemon=True).start()
    return run


def run_ops(
    place: StackPlace, module: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <module>`` against the place; capture its output."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=place.environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def groups_alive(records: dict[str, PidRecord]) -> dict[str, list[int]]:
    """Live members of each recorded process group."""
    return {name: group_members(record.pid) for name, record in records.items()}


def kill_leftovers(records: dict[str, PidRecord]) -> None:
    """Last resort in teardown: SIGKILL whatever a failed test left running."""
    for record in records.values():
        if group_members(record.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(record.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def running_stack(
    h2o_cluster_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackRun]:
    """The whole local stack from an empty artifacts folder, as on a fresh clone."""
    place = fresh_place(tmp_path_factory.mktemp("stack"), h2o_cluster_url)
    run = start_stack(place)
    records = {}
    try:
        run.wait_for(OPEN_BANNER, timeout_s=FRESH_STARTUP_TIMEOUT_S)
        records = place.pid_records()
        yield run
    finally:
        records.update(place.pid_records())
        try:
            run.stop()
        finally:
            kill_leftovers(records)
