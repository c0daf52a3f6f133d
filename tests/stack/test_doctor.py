"""`make doctor` against a stack with each service stopped in turn."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ops.config import Settings
from ops.doctor import render, run_checks
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


@dataclass(frozen=True)
class SupervisedStack:
    """The three services started in this process, so one can be stopped alone."""

    place: StackPlace
    settings: Settings
    supervisor: Supervisor

    def restart(self, name: str) -> None:
        self.supervisor.start(name)
        self.supervisor.wait_healthy(
            [name], timeout_s=STARTUP_TIMEOUT_S, stop=threading.Event()
        )


@pytest.fixture(scope="module")
def supervised(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SupervisedStack]:
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
        yield SupervisedStack(place, settings, supervisor)
    finally:
        supervisor.stop_all()


@pytest.mark.parametrize("stopped", SERVICES)
def test_doctor_with_one_service_stopped_fails_on_it_alone(
    stopped: str, supervised: SupervisedStack
) -> None:
    supervised.supervisor.stop(stopped)
    try:
        # In process: the checks of `make doctor` without paying its start-up.
        checks = run_checks(supervised.settings)
    finally:
        supervised.restart(stopped)

    report = render(checks)
    failed = {check.subject for check in checks if check.status == "fail"}
    port = supervised.place.ports[stopped]
    assert failed == {f"port {port} ({stopped})", f"{stopped} health"}, report
    assert "fix: start the stack with `make demo`" in report
    assert "problem(s) found" in report


def test_doctor_command_exits_non_zero_when_the_ui_is_stopped(
    supervised: SupervisedStack,
) -> None:
    supervised.supervisor.stop("ui")
    try:
        result = run_ops(supervised.place, "ops.doctor")
    finally:
        supervised.restart("ui")

    assert result.returncode == 1
    assert "FAIL  ui health" in result.stdout
    assert "2 problem(s) found" in result.stdout
