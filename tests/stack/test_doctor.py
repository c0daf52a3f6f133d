"""`make doctor` against a stack with each service stopped in turn."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest

from ops.config import Settings
from ops.services import local_services
from ops.supervisor import Supervisor
from tests.fixtures.training import TrainedModel
from tests.stack.conftest import (
    SERVICES,
    STARTUP_TIMEOUT_S,
    StackPlace,
    new_place,
    run_ops,
)


@pytest.fixture(scope="module")
def supervised(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[StackPlace, Supervisor]]:
    """The three services started in this process, so one can be stopped alone."""
    place = new_place(trained_model, tmp_path_factory.mktemp("doctor-stack"))
    settings = Settings(
        artifacts_dir=place.artifacts_dir,
        tracking_uri=place.tracking_uri,
        model_name=place.model_name,
        mlflow_port=place.ports["mlflow"],
        scorer_port=place.ports["scorer"],
        ui_port=place.ports["ui"],
        h2o_port=place.ports["h2o"],
        scorer_poll_interval_s=1,
    )
    supervisor = Supervisor(
        local_services(settings),
        state_dir=settings.state_dir,
        stop_timeout_s=settings.stop_timeout_s,
        probe_timeout_s=settings.probe_timeout_s,
        out=io.StringIO(),
    )
    try:
        for name in SERVICES:
            supervisor.start(name)
        supervisor.wait_healthy(
            SERVICES, timeout_s=STARTUP_TIMEOUT_S, stop=threading.Event()
        )
        yield place, supervisor
    finally:
        supervisor.stop_all()


def _lines_about(report: str, service: str) -> list[str]:
    return [
        line
        for line in report.splitlines()
        if f"({service})" in line or f"{service} health" in line
    ]


def test_doctor_on_the_healthy_supervised_stack_exits_zero(
    supervised: tuple[StackPlace, Supervisor],
) -> None:
    place, _ = supervised

    result = run_ops(place, "ops.doctor")

    assert result.returncode == 0, result.stdout
    assert "Java" in result.stdout


@pytest.mark.parametrize("stopped", SERVICES)
def test_doctor_with_one_service_stopped_fails_and_names_it(
    stopped: str, supervised: tuple[StackPlace, Supervisor]
) -> None:
    place, supervisor = supervised
    supervisor.stop(stopped)
    try:
        result = run_ops(place, "ops.doctor")
    finally:
        supervisor.start(stopped)
        supervisor.wait_healthy(
            [stopped], timeout_s=STARTUP_TIMEOUT_S, stop=threading.Event()
        )

    assert result.returncode == 1, result.stdout
    stopped_lines = _lines_about(result.stdout, stopped)
    assert stopped_lines and all("FAIL" in line for line in stopped_lines), (
        result.stdout
    )
    assert "fix: start the stack with `make demo`" in result.stdout
    for running in set(SERVICES) - {stopped}:
        assert all("ok" in line for line in _lines_about(result.stdout, running)), (
            result.stdout
        )
