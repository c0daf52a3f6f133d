"""Stopping what a killed stack left, and refusing a port already taken."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops.processes import log_file, pid_file
from tests.fixtures.training import TrainedModel
from tests.stack.conftest import (
    SERVICES,
    groups_alive,
    kill_leftovers,
    new_place,
    run_ops,
    start_stack,
)

PID_FILES_TIMEOUT_S = 60


def test_down_stops_the_services_a_killed_supervisor_left_behind(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    place = new_place(trained_model, tmp_path)
    run = start_stack(place)
    try:
        deadline = time.monotonic() + PID_FILES_TIMEOUT_S
        while len(place.pid_records()) < len(SERVICES) and time.monotonic() < deadline:
            time.sleep(0.2)
        records = place.pid_records()
        assert sorted(records) == sorted(SERVICES), run.output
        run.process.kill()
        run.process.wait(timeout=10)
        assert all(groups_alive(records).values())
        refused = run_ops(place, "ops.stack", "up")
        assert refused.returncode == 1
        assert "a previous stack left" in refused.stderr
        assert "scorer (process group" in refused.stderr

        result = run_ops(place, "ops.stack", "down")

        assert result.returncode == 0, result.stdout + result.stderr
        assert groups_alive(records) == {name: [] for name in SERVICES}
        for name in SERVICES:
            assert f"Stopping {name}" in result.stdout
            assert not pid_file(place.state_dir, name).exists()
    finally:
        kill_leftovers(place.pid_records())


def test_down_with_nothing_running_says_so_and_exits_zero(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    place = new_place(trained_model, tmp_path)

    result = run_ops(place, "ops.stack", "down")

    assert result.returncode == 0
    assert "Nothing to stop" in result.stdout


@pytest.mark.parametrize("service", ["mlflow", "scorer", "ui"])
def test_up_refuses_a_taken_port_and_names_its_owner(
    service: str, trained_model: TrainedModel, tmp_path: Path
) -> None:
    place = new_place(trained_model, tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", place.ports[service]))
        squatter.listen()

        result = run_ops(place, "ops.stack", "up")

    assert result.returncode == 1
    assert (
        f"port {place.ports[service]} ({service}) is in use by pid {os.getpid()}"
        in (result.stderr)
    )
    assert f"OPS_{service.upper()}_PORT" in result.stderr
    assert not list(place.state_dir.glob("*.pid"))


def test_a_service_that_dies_stops_the_stack_with_its_log_tail(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    place = new_place(trained_model, tmp_path)
    run = start_stack(place)
    try:
        deadline = time.monotonic() + PID_FILES_TIMEOUT_S
        while len(place.pid_records()) < len(SERVICES) and time.monotonic() < deadline:
            time.sleep(0.2)
        records = place.pid_records()
        assert sorted(records) == sorted(SERVICES), run.output

        os.killpg(records["ui"].pid, signal.SIGKILL)
        code = run.process.wait(timeout=120)

        assert code == 1
        run.wait_for("ui exited with code", timeout_s=10)
        assert str(log_file(place.state_dir, "ui")) in run.output
        assert groups_alive(records) == {name: [] for name in SERVICES}
    finally:
        kill_leftovers(place.pid_records())
        if run.process.poll() is None:
            run.process.kill()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("OPS_SCORER_PORT", "abc"), ("OPS_UI_PORT", "0"), ("OPS_STARTUP_TIMEOUT_S", "-1")],
    ids=["not-a-number", "port-zero", "negative-timeout"],
)
@pytest.mark.parametrize("module", ["ops.stack", "ops.doctor"])
def test_a_bad_setting_is_named_and_exits_2(
    module: str, variable: str, value: str, tmp_path: Path
) -> None:
    arguments = ["down"] if module == "ops.stack" else []
    environment = {**os.environ, "OPS_ARTIFACTS_DIR": str(tmp_path), variable: value}

    result = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert f"{variable}:" in result.stderr
    assert "Traceback" not in result.stderr
