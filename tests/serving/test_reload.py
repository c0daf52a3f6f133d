"""Hot reload and faults: alias moves under traffic, broken versions, a killed JVM,
the registry down at start, the cache not writable.

Each test works on its own copy of the training job's MLflow store and its own
registered model name, so moving aliases never disturbs other tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlflow import MlflowClient

from serving.model_schema import MOJO_FILE_NAME
from tests.fixtures.serving import ADMIN_TOKEN, RunningScorer
from tests.fixtures.training import TrainedModel

MODEL_NAME = "reload-test"
StartScorer = Callable[..., RunningScorer]


@dataclass
class Registry:
    """A private MLflow store with one registered model and helpers to change it."""

    tracking_uri: str
    database: Path
    client: Any
    versions_dir: Path
    good_model_dir: Path

    def register(self, *, broken: bool = False) -> str:
        """Register the trained model's files (or a garbage MOJO) as a new version."""
        folder = self.versions_dir / f"v{len(list(self.versions_dir.iterdir())) + 1}"
        shutil.copytree(self.good_model_dir, folder)
        if broken:
            (folder / MOJO_FILE_NAME).write_bytes(b"this is not a MOJO")
        version = self.client.create_model_version(MODEL_NAME, source=str(folder))
        return str(version.version)

    def point(self, version: str) -> None:
        """Move the alias ``production`` to ``version``."""
        self.client.set_registered_model_alias(MODEL_NAME, "production", version)

    def settings(self, **extra: object) -> dict[str, object]:
        return {
            "tracking_uri": self.tracking_uri,
            "model_name": MODEL_NAME,
            "model_alias": "production",
            **extra,
        }


@pytest.fixture
def registry(trained_model: TrainedModel, tmp_path: Path) -> Registry:
    store = tmp_path / "store"
    store.mkdir()
    shutil.copy(trained_model.store_dir / "mlflow.db", store / "mlflow.db")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL_NAME)
    versions_dir = store / "versions"
    versions_dir.mkdir()
    registry = Registry(
        uri, store / "mlflow.db", client, versions_dir, trained_model.model_dir
    )
    registry.point(registry.register())
    return registry


def _predict(client: httpx.Client, model: TrainedModel) -> httpx.Response:
    row = model.holdout.iloc[0]
    record = {
        name: float(row[name]) if name in row else None
        for name in model.schema.feature_names
    }
    return client.post("/predict", json=record)


def _wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _ready(scorer: RunningScorer) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(
        f"{scorer.base_url}/health/ready", timeout=10
    ).json()
    return body


@pytest.fixture
def traffic() -> Iterator[
    Callable[[RunningScorer, TrainedModel], list[httpx.Response | Exception]]
]:
    """Start single-row requests from a thread; stop them at teardown."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(
        scorer: RunningScorer, model: TrainedModel
    ) -> list[httpx.Response | Exception]:
        outcomes: list[httpx.Response | Exception] = []

        def run() -> None:
            with httpx.Client(base_url=scorer.base_url, timeout=30) as client:
                while not stop.is_set():
                    try:
                        outcomes.append(_predict(client, model))
                    except httpx.HTTPError as exc:
                        outcomes.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        return outcomes

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=30)


def test_alias_moved_during_traffic_loses_no_request(
    registry: Registry,
    start_scorer: StartScorer,
    trained_model: TrainedModel,
    traffic: Callable[[RunningScorer, TrainedModel], list[httpx.Response | Exception]],
) -> None:
    second = registry.register()
    scorer = start_scorer(**registry.settings(poll_interval_s=0.2))
    outcomes = traffic(scorer, trained_model)

    for version in [second, "1", second]:
        registry.point(version)
        _wait_for(
            lambda v=version: _ready(scorer)["model"]["version"] == v,
            30,
            f"version {version}",
        )
        time.sleep(0.3)
    served_before_stop = len(outcomes)

    failures = [o for o in outcomes if isinstance(o, Exception) or o.status_code != 200]
    assert served_before_stop > 20
    assert failures == []
    versions = {
        o.json()["model"]["version"]
        for o in outcomes[:served_before_stop]
        if isinstance(o, httpx.Response)
    }
    assert versions == {"1", second}


def test_broken_version_is_refused_and_the_old_model_keeps_serving(
    registry: Registry, start_scorer: StartScorer, trained_model: TrainedModel
) -> None:
    scorer = start_scorer(
        **registry.settings(poll_interval_s=0.2, admin_token=ADMIN_TOKEN)
    )
    broken = registry.register(broken=True)

    registry.point(broken)
    _wait_for(
        lambda: _ready(scorer)["last_reload_error"] is not None, 30, "the reload error"
    )

    with httpx.Client(base_url=scorer.base_url, timeout=30) as client:
        ready = client.get("/health/ready")
        prediction = _predict(client, trained_model)
        forced = client.post(
            "/admin/reload", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        metrics = client.get("/metrics").text
    assert ready.status_code == 200
    assert ready.json()["model"]["version"] == "1"
    assert ready.json()["last_reload_error"].startswith(f"version {broken}:")
    assert prediction.status_code == 200
    assert prediction.json()["model"]["version"] == "1"
    assert forced.status_code == 422
    assert forced.json()["error"]["code"] == "model_refused"
    assert 'scorer_reloads_total{outcome="failed"} 2.0' in metrics
    assert f"model version {broken} refused, old model kept" in scorer.log_text()


def test_admin_reload_loads_the_new_alias_target_at_once(
    registry: Registry, start_scorer: StartScorer, trained_model: TrainedModel
) -> None:
    scorer = start_scorer(
        **registry.settings(poll_interval_s=3600, admin_token=ADMIN_TOKEN)
    )
    second = registry.register()
    registry.point(second)

    response = httpx.post(
        f"{scorer.base_url}/admin/reload",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=60,
    )

    assert response.status_code == 200
    assert response.json() == {
        "outcome": "reloaded",
        "version": second,
        "message": f"now serving version {second}",
    }
    assert _ready(scorer)["model"]["version"] == second
    assert (
        'scorer_reloads_total{outcome="ok"} 2.0'
        in httpx.get(f"{scorer.base_url}/metrics").text
    )


def test_killed_jvm_gives_503_then_recovers_without_restarting_the_api(
    start_scorer: StartScorer, trained_model: TrainedModel
) -> None:
    scorer = start_scorer(local_model_dir=trained_model.model_dir)
    (jvm,) = scorer.jvm_pids()
    api_pid = scorer.process.pid

    os.kill(jvm, signal.SIGKILL)
    statuses: list[int] = []
    with httpx.Client(base_url=scorer.base_url, timeout=30) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses.append(_predict(client, trained_model).status_code)
            if statuses[-1] == 200:
                break
            time.sleep(0.05)
        metrics = client.get("/metrics").text

    assert statuses[0] == 503
    assert statuses[-1] == 200
    assert set(statuses) == {503, 200}
    assert scorer.process.pid == api_pid and scorer.process.poll() is None
    assert scorer.jvm_pids() != [jvm] and len(scorer.jvm_pids()) == 1
    assert "scorer_jvm_restarts_total 1.0" in metrics


def test_registry_down_at_start_serves_the_last_cached_model(
    registry: Registry,
    start_scorer: StartScorer,
    trained_model: TrainedModel,
    tmp_path: Path,
) -> None:
    cache = tmp_path / "shared-cache"
    first = start_scorer(**registry.settings(cache_dir=cache))
    first.stop()

    missing_store = f"sqlite:///{tmp_path / 'gone' / 'mlflow.db'}"
    second = start_scorer(
        **registry.settings(cache_dir=cache, tracking_uri=missing_store)
    )
    ready = _ready(second)
    with httpx.Client(base_url=second.base_url, timeout=30) as client:
        prediction = _predict(client, trained_model)

    assert ready["status"] == "ready"
    assert ready["source"] == "cache"
    assert ready["model"]["version"] == "1"
    assert prediction.status_code == 200
    assert "WARNING serving.model_manager" in second.log_text()
    assert "serving cached model reload-test version 1" in second.log_text()
    assert not (tmp_path / "gone").exists()


def test_registry_down_and_no_cache_starts_not_ready_and_says_why(
    start_scorer: StartScorer, tmp_path: Path
) -> None:
    scorer = start_scorer(
        tracking_uri=f"sqlite:///{tmp_path / 'none.db'}", model_name="x", wait=False
    )
    scorer.wait_live()

    response = httpx.get(f"{scorer.base_url}/health/ready")
    prediction = httpx.post(f"{scorer.base_url}/predict", json={"a": 1})

    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert response.json()["jvm"] == "none"
    assert prediction.status_code == 503
    assert prediction.json()["error"]["code"] == "model_unavailable"


def test_registry_unreachable_while_polling_keeps_serving(
    registry: Registry, start_scorer: StartScorer, trained_model: TrainedModel
) -> None:
    scorer = start_scorer(**registry.settings(poll_interval_s=0.2))
    registry.database.rename(registry.database.with_suffix(".away"))

    _wait_for(
        lambda: (
            "scorer_registry_poll_failures_total 1.0"
            in httpx.get(f"{scorer.base_url}/metrics").text
            or "scorer_registry_poll_failures_total 2.0"
            in httpx.get(f"{scorer.base_url}/metrics").text
        ),
        30,
        "a failed poll",
    )
    with httpx.Client(base_url=scorer.base_url, timeout=30) as client:
        prediction = _predict(client, trained_model)

    assert prediction.status_code == 200
    assert _ready(scorer)["status"] == "ready"
    assert "registry poll failed" in scorer.log_text()


def test_unwritable_cache_refuses_the_reload_clearly_and_keeps_serving(
    registry: Registry,
    start_scorer: StartScorer,
    trained_model: TrainedModel,
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    scorer = start_scorer(**registry.settings(cache_dir=cache, poll_interval_s=0.2))
    model_cache = cache / MODEL_NAME
    model_cache.rename(cache / "moved-away")
    # A file where the folder was: no one, root included, can create files in it.
    model_cache.write_text("not a folder")

    registry.point(registry.register())
    _wait_for(
        lambda: _ready(scorer)["last_reload_error"] is not None, 30, "the reload error"
    )

    error = _ready(scorer)["last_reload_error"]
    assert "SERVING_CACHE_DIR" in error
    assert str(model_cache) in error
    with httpx.Client(base_url=scorer.base_url, timeout=30) as client:
        prediction = _predict(client, trained_model)
    assert prediction.status_code == 200
    assert prediction.json()["model"]["version"] == "1"
