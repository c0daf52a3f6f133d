"""`mlflow models serve` serves the registered pyfunc model with the runtime."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving.scorer import MojoScorer
from tests.fixtures.environment import free_port
from tests.fixtures.training import TrainedModel

_READY_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def mlflow_server(trained_model: TrainedModel) -> Iterator[str]:
    port = free_port()
    uri = f"models:/{trained_model.model_name}/{trained_model.version}"
    bin_dir = str(Path(sys.executable).parent)
    environment = {
        **os.environ,
        "MLFLOW_TRACKING_URI": trained_model.tracking_uri,
        "MLFLOW_REGISTRY_URI": trained_model.tracking_uri,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [
        str(Path(bin_dir) / "mlflow"),
        "models",
        "serve",
        "-m",
        uri,
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert process.poll() is None, "mlflow models serve exited"
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            raise AssertionError(
                f"mlflow models serve not ready in {_READY_TIMEOUT_S} s"
            )
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_mlflow_models_serve_answers_like_the_runtime(
    mlflow_server: str, trained_model: TrainedModel, tmp_path: Path
) -> None:
    features = trained_model.holdout[trained_model.schema.feature_names].head(5)
    # JSON integers on purpose: the server casts them to the signature's doubles.
    records = [
        {
            name: int(value) if float(value).is_integer() else value
            for name, value in row.items()
        }
        for row in features.to_dict(orient="records")
    ]

    answer = httpx.post(
        f"{mlflow_server}/invocations", json={"dataframe_records": records}, timeout=60
    )
    with MojoScorer.open(
        trained_model.model_dir, class_cache_dir=tmp_path / "classes"
    ) as scorer:
        expected = scorer.score_frame(features)

    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert [row["predict"] for row in predictions] == expected.labels
    assert expected.probabilities is not None
    for row, probabilities in zip(predictions, expected.probabilities, strict=True):
        assert row["p_1"] == pytest.approx(probabilities[1], abs=1e-12)
