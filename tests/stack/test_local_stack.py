"""The whole local stack as ``make demo`` runs it on a fresh clone, from outside."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
import urllib.request

from ops.registry import alias_version
from tests.stack.conftest import (
    SERVICES,
    StackRun,
    groups_alive,
    run_ops,
    tiny_training_args,
)
from ui.client import ScorerClient
from ui.config import Settings as UISettings

RETRAIN_PICKUP_TIMEOUT_S = 60


def _ready(run: StackRun) -> dict[str, object]:
    url = f"{run.place.url('scorer')}/health/ready"
    with urllib.request.urlopen(url, timeout=5) as response:
        answer: dict[str, object] = json.loads(response.read())
    return answer


def _served_version(run: StackRun) -> str:
    model = _ready(run)["model"]
    assert isinstance(model, dict)
    return str(model["version"])


def test_up_on_an_empty_registry_trains_first_and_registers_version_1(
    running_stack: StackRun,
) -> None:
    place = running_stack.place

    production = alias_version(place.tracking_uri, place.model_name, "production")

    assert "training the demo model first" in running_stack.output
    assert production == "1"
    assert (place.state_dir / "trainer.log").stat().st_size > 0
    assert _served_version(running_stack) == "1"


def test_up_prints_three_urls_that_each_answer(running_stack: StackRun) -> None:
    place = running_stack.place

    printed = running_stack.output

    for service, path in (
        ("mlflow", "/health"),
        ("scorer", "/health/live"),
        ("ui", "/"),
    ):
        assert place.url(service) in printed
        with urllib.request.urlopen(place.url(service) + path, timeout=5) as response:
            assert response.status == 200


def test_up_writes_a_pid_file_per_service_with_a_live_group(
    running_stack: StackRun,
) -> None:
    records = running_stack.place.pid_records()

    assert sorted(records) == sorted(SERVICES)
    assert all(record.is_running() for record in records.values())


def test_doctor_on_a_healthy_stack_exits_zero_and_names_the_versions(
    running_stack: StackRun,
) -> None:
    result = run_ops(running_stack.place, "ops.doctor")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert "mojo-demo@production is version" in result.stdout
    assert f"loaded version {_served_version(running_stack)}" in result.stdout


def test_prediction_through_the_ui_client_is_scored_by_the_stack(
    running_stack: StackRun,
) -> None:
    client = ScorerClient(UISettings(scorer_url=running_stack.place.url("scorer")))

    try:
        model = client.model_info()
        answer = client.predict(model.example_request)
    finally:
        client.close()

    assert answer.model.name == "mojo-demo"
    assert answer.model.version == _served_version(running_stack)
    assert len(answer.predictions) == 1
    prediction = answer.predictions[0]
    assert prediction.label in model.class_labels
    assert prediction.probabilities is not None
    assert math.isclose(sum(prediction.probabilities.values()), 1.0, abs_tol=1e-6)


def test_retrain_while_running_is_picked_up_by_the_scorer(
    running_stack: StackRun, h2o_cluster_url: str
) -> None:
    place = running_stack.place
    before = _served_version(running_stack)
    command = [
        sys.executable,
        "-m",
        "training",
        "--tracking-uri",
        place.tracking_uri,
        "--artifact-root",
        str(place.artifacts_dir / "mlruns"),
        "--model-name",
        place.model_name,
        *tiny_training_args(h2o_cluster_url),
        "--promotion",
        "always",
    ]

    trained = subprocess.run(
        command,
        # Relative defaults (H2O logs, compiled classes) land in the tmp folder.
        cwd=place.artifacts_dir.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    production = alias_version(place.tracking_uri, place.model_name, "production")
    deadline = time.monotonic() + RETRAIN_PICKUP_TIMEOUT_S
    while _served_version(running_stack) != production and time.monotonic() < deadline:
        time.sleep(0.5)

    assert production is not None and production != before
    assert _served_version(running_stack) == production
    doctor = run_ops(place, "ops.doctor")
    assert doctor.returncode == 0, doctor.stdout
    assert f"loaded version {production}" in doctor.stdout


# Last in this module on purpose: it stops the module's stack (run alone, it
# starts its own), which saves the suite one more start of all three services.
def test_ctrl_c_stops_every_service_group_and_removes_the_pid_files(
    running_stack: StackRun,
) -> None:
    place = running_stack.place
    records = place.pid_records()
    assert all(groups_alive(records).values())

    code = running_stack.stop(signal.SIGINT)

    assert code == 0, running_stack.output
    assert groups_alive(records) == {name: [] for name in SERVICES}
    assert not list(place.state_dir.glob("*.pid"))
    assert "Stopping the stack" in running_stack.output
