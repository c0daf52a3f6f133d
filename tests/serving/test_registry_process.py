"""OutOfProcessRegistry on real MLflow SQLite stores: MLflow stays out of the scorer.

Lookups are read from the database file, and a version whose artifacts sit in
a local folder is copied from there; other downloads and what that read cannot
tell run in a child process. The tests count those children by wrapping
``subprocess.run`` (the real one still runs).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench.reliability_registry import PrivateRegistry
from serving.model_schema import MOJO_FILE_NAME
from serving.registry import (
    ArtifactLayoutError,
    ModelCacheError,
    ModelRegistry,
    RegistryUnavailableError,
)
from serving.registry_process import OutOfProcessRegistry
from tests.fixtures.training import TrainedModel
from training.registry import MOJO_ARTIFACT_DIR

# Imported by MLflow's client and store; none of them may reach the scorer.
HEAVY_PACKAGES = ("mlflow", "sqlalchemy", "alembic")

_SCORER_START = """
import json, sys
from serving.api import create_app  # the scorer's whole import graph
from serving.config import Settings
from serving.metrics import ServingMetrics
from serving.model_manager import ModelManager

manager = ModelManager(Settings(), ServingMetrics())
manager.start()
outcome = manager.reload()
served = manager.current.identity
manager.stop()
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1:]))
print(json.dumps({"version": served.version, "source": served.source,
                  "reload": outcome[0], "heavy": heavy}))
"""


@pytest.fixture
def child_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argument lists of the registry helper processes started in a test."""
    runs: list[list[str]] = []
    real_run: Callable[..., Any] = subprocess.run

    def counting_run(command: list[str], **options: Any) -> Any:
        runs.append(command)
        return real_run(command, **options)

    monkeypatch.setattr(subprocess, "run", counting_run)
    return runs


def _registry(
    uri: str, name: str, cache: Path, *, alias: str = "production"
) -> OutOfProcessRegistry:
    return OutOfProcessRegistry(uri, name, alias=alias, version=None, cache_dir=cache)


def _version(registry: PrivateRegistry, version: str) -> OutOfProcessRegistry:
    return OutOfProcessRegistry(
        registry.tracking_uri,
        registry.model_name,
        alias=None,
        version=version,
        cache_dir=registry.folder / "cache",
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def _folder_copy(registry: PrivateRegistry, target: Path) -> str:
    """Register a copy of the first version's artifact folder by its plain path."""
    stored = registry.client.get_model_version_download_uri(
        registry.model_name, registry.first_version
    )
    shutil.copytree(Path(urlsplit(stored).path), target)
    created = registry.client.create_model_version(registry.model_name, str(target))
    return str(created.version)


def test_a_scorer_started_from_a_registry_never_imports_mlflow(
    private_registry: PrivateRegistry, java_classes_dir: Path, tmp_path: Path
) -> None:
    """Start, download and a poll happen in a fresh interpreter: pytest has MLflow."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SERVING_")},
        "SERVING_TRACKING_URI": private_registry.tracking_uri,
        "SERVING_MODEL_NAME": private_registry.model_name,
        "SERVING_CACHE_DIR": str(tmp_path / "cache"),
        "SERVING_JAVA_CLASSES_DIR": str(java_classes_dir),
    }

    done = subprocess.run(
        [sys.executable, "-c", _SCORER_START, *HEAVY_PACKAGES],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr.decode()[-3000:]
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer == {
        "version": private_registry.first_version,
        "source": "registry",
        "reload": "unchanged",
        "heavy": [],
    }
    assert (tmp_path / "cache" / private_registry.model_name / "current").is_file()


def test_sqlite_lookups_start_no_child_and_follow_the_alias(
    private_registry: PrivateRegistry, child_runs: list[list[str]], tmp_path: Path
) -> None:
    registry = _registry(
        private_registry.tracking_uri, private_registry.model_name, tmp_path / "cache"
    )
    first = registry.resolve()
    second = private_registry.copy_version()

    private_registry.move_alias(second)
    moved = registry.resolve()

    assert (first.version, moved.version) == (private_registry.first_version, second)
    assert child_runs == []


@pytest.mark.parametrize("recorded_as", ["file-uri", "plain-path"])
def test_a_local_version_is_copied_without_a_child_as_mlflow_downloads_it(
    private_registry: PrivateRegistry,
    child_runs: list[list[str]],
    tmp_path: Path,
    recorded_as: str,
) -> None:
    version = private_registry.first_version
    if recorded_as == "plain-path":
        version = _folder_copy(private_registry, tmp_path / "copy")
    registry = _version(private_registry, version)
    ref = registry.resolve()
    through_mlflow = ModelRegistry(
        private_registry.tracking_uri,
        private_registry.model_name,
        alias=None,
        version=version,
        cache_dir=tmp_path / "mlflow-cache",
    ).fetch(ref)
    runs_before = len(child_runs)

    folder = registry.fetch(ref)
    again = registry.fetch(ref)

    assert len(child_runs) == runs_before == 0
    assert again == folder
    assert _files(folder) == _files(through_mlflow)
    assert folder.resolve().is_relative_to(
        (private_registry.folder / "cache").resolve()
    )


def test_a_version_stored_elsewhere_is_downloaded_by_one_child_and_only_once(
    private_registry: PrivateRegistry,
    trained_model: TrainedModel,
    child_runs: list[list[str]],
) -> None:
    run_id = trained_model.run_id
    version = str(
        private_registry.client.create_model_version(
            private_registry.model_name, f"runs:/{run_id}/{MOJO_ARTIFACT_DIR}"
        ).version
    )
    registry = _version(private_registry, version)
    ref = registry.resolve()

    folder = registry.fetch(ref)
    again = registry.fetch(ref)

    assert again == folder
    assert len(child_runs) == 1
    assert (folder / MOJO_FILE_NAME).read_bytes() == (
        trained_model.model_dir / MOJO_FILE_NAME
    ).read_bytes()
    assert folder.resolve().is_relative_to(
        (private_registry.folder / "cache").resolve()
    )


def test_a_local_folder_that_is_gone_is_left_to_the_child(
    private_registry: PrivateRegistry, child_runs: list[list[str]], tmp_path: Path
) -> None:
    version = _folder_copy(private_registry, tmp_path / "copy")
    shutil.rmtree(tmp_path / "copy")
    registry = _version(private_registry, version)

    # MLflow lists a missing local folder as empty: the child's own refusal.
    with pytest.raises(ArtifactLayoutError, match=r"lack model\.zip"):
        registry.fetch(registry.resolve())
    assert len(child_runs) == 1


def test_a_local_version_with_a_model_file_twice_is_refused_without_a_child(
    private_registry: PrivateRegistry, child_runs: list[list[str]]
) -> None:
    files = private_registry.model_files()
    files[f"older/{MOJO_FILE_NAME}"] = files[MOJO_FILE_NAME]
    version = private_registry.register_files(files, "twice")
    registry = _version(private_registry, version)

    with pytest.raises(ArtifactLayoutError, match=r"model\.zip more than once"):
        registry.fetch(registry.resolve())
    assert child_runs == []
    assert not list((private_registry.folder / "cache").rglob(MOJO_FILE_NAME))


def test_a_model_file_linked_out_of_its_folder_is_refused_and_not_copied(
    private_registry: PrivateRegistry, child_runs: list[list[str]], tmp_path: Path
) -> None:
    version = _folder_copy(private_registry, tmp_path / "copy")
    outside = tmp_path / "outside.zip"
    linked = next((tmp_path / "copy").rglob(MOJO_FILE_NAME))
    shutil.move(linked, outside)
    linked.symlink_to(outside)
    registry = _version(private_registry, version)

    with pytest.raises(ModelCacheError, match="resolves outside"):
        registry.fetch(registry.resolve())
    assert child_runs == []
    assert not list((private_registry.folder / "cache").rglob(MOJO_FILE_NAME))


def test_unknown_alias_asks_the_child_once_per_database_change(
    private_registry: PrivateRegistry, child_runs: list[list[str]], tmp_path: Path
) -> None:
    registry = _registry(
        private_registry.tracking_uri,
        private_registry.model_name,
        tmp_path / "cache",
        alias="staging",
    )
    reference = f"models:/{private_registry.model_name}@staging"

    for _ in range(3):
        with pytest.raises(RegistryUnavailableError, match=reference):
            registry.resolve()
    runs_while_unchanged = len(child_runs)
    private_registry.copy_version()
    with pytest.raises(RegistryUnavailableError, match="alias staging not found"):
        registry.resolve()

    assert runs_while_unchanged == 1
    assert len(child_runs) == 2


def test_latest_is_answered_by_the_child_and_reused_until_the_database_changes(
    private_registry: PrivateRegistry, child_runs: list[list[str]], tmp_path: Path
) -> None:
    registry = _registry(
        private_registry.tracking_uri,
        private_registry.model_name,
        tmp_path / "cache",
        alias="latest",
    )
    first = registry.resolve()
    registry.resolve()
    newest = private_registry.copy_version()

    after = registry.resolve()

    assert (first.version, after.version) == (private_registry.first_version, newest)
    assert len(child_runs) == 2


@pytest.mark.parametrize(
    ("tracking_uri", "message"),
    [
        ("sqlite:///{tmp}/nowhere/mlflow.db", "No MLflow database at .*nowhere"),
        ("nosuchstore://registry", "registry at nosuchstore://registry could not"),
    ],
    ids=["missing-sqlite-file", "unknown-store-scheme"],
)
def test_a_registry_that_does_not_exist_is_unavailable_with_a_readable_message(
    tmp_path: Path, tracking_uri: str, message: str
) -> None:
    registry = _registry(tracking_uri.format(tmp=tmp_path), "m", tmp_path / "cache")

    with pytest.raises(RegistryUnavailableError, match=message):
        registry.resolve()
    assert not (tmp_path / "nowhere").exists()


def test_a_version_without_a_mojo_is_refused_naming_the_file(
    private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    files = private_registry.model_files()
    del files[MOJO_FILE_NAME]
    version = private_registry.register_files(files, "no-mojo")
    private_registry.move_alias(version)
    registry = _registry(
        private_registry.tracking_uri, private_registry.model_name, tmp_path / "cache"
    )

    with pytest.raises(ArtifactLayoutError, match=MOJO_FILE_NAME):
        registry.fetch(registry.resolve())


def test_a_crashing_child_is_unavailable_and_its_traceback_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = _registry("sqlite:///unused.db", "m", tmp_path / "cache")

    with (
        caplog.at_level(logging.INFO, logger="serving.registry_process"),
        pytest.raises(RegistryUnavailableError, match="exit code 1"),
    ):
        registry._run_child({"op": "no-such-operation"}, deadline_s=60)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("no-such-operation" in line for line in warnings)


def test_the_child_inherits_mlflows_http_bounds_unless_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")
    registry = OutOfProcessRegistry(
        "http://127.0.0.1:1",
        "m",
        alias="production",
        version=None,
        cache_dir=tmp_path,
        timeout_s=3,
        retries=1,
    )

    env = registry._child_environment()

    assert env["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "3"
    assert env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5"
