"""ModelRegistry against real MLflow stores on SQLite: download, cache, safety."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from serving.model_schema import GENMODEL_JAR_NAME, MOJO_FILE_NAME, SCHEMA_FILE_NAME
from serving.registry import (
    PROVENANCE_FILE,
    ArtifactLayoutError,
    ModelCacheError,
    ModelRegistry,
    RegistryUnavailableError,
    VersionRef,
    _safe_relative,
)
from tests.fixtures.training import TrainedModel

MODEL_FILES = {MOJO_FILE_NAME, GENMODEL_JAR_NAME, SCHEMA_FILE_NAME}


def _registry(
    uri: str, name: str, cache: Path, alias: str = "production"
) -> ModelRegistry:
    return ModelRegistry(uri, name, alias=alias, version=None, cache_dir=cache)


@pytest.fixture
def folder_store(trained_model: TrainedModel, tmp_path: Path) -> tuple[str, Path]:
    """A private store whose model 'folder-model' version 1 is a plain model folder."""
    # A copy of the session's database: creating a new one runs every migration.
    shutil.copy(trained_model.store_dir / "mlflow.db", tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    source = tmp_path / "source"
    shutil.copytree(trained_model.model_dir, source)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("folder-model")
    client.create_model_version("folder-model", source=str(source))
    client.set_registered_model_alias("folder-model", "production", "1")
    return uri, source


def test_fetch_downloads_only_the_three_model_files_from_the_pyfunc_model(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    registry = _registry(trained_model.tracking_uri, trained_model.model_name, tmp_path)

    ref = registry.resolve()
    folder = registry.fetch(ref)

    assert ref.version == trained_model.version
    assert ref.run_id == trained_model.run_id
    assert {p.name for p in folder.iterdir()} == {*MODEL_FILES, PROVENANCE_FILE}
    assert (folder / MOJO_FILE_NAME).read_bytes() == (
        trained_model.model_dir / MOJO_FILE_NAME
    ).read_bytes()
    assert not list(tmp_path.rglob("*.pkl"))
    assert folder.resolve().is_relative_to(tmp_path.resolve())


def test_fetch_reuses_the_cache_without_the_registry_artifacts(
    folder_store: tuple[str, Path], tmp_path: Path
) -> None:
    uri, source = folder_store
    registry = _registry(uri, "folder-model", tmp_path / "cache")
    ref = registry.resolve()
    first = registry.fetch(ref)
    shutil.rmtree(source)

    second = registry.fetch(ref)

    assert second == first
    assert {p.name for p in second.iterdir()} >= MODEL_FILES


def test_last_good_pointer_round_trips_and_is_absent_at_first(
    folder_store: tuple[str, Path], tmp_path: Path
) -> None:
    uri, _ = folder_store
    registry = _registry(uri, "folder-model", tmp_path / "cache")
    assert registry.last_good() is None
    ref = registry.resolve()
    folder = registry.fetch(ref)

    registry.remember_good(ref)

    assert registry.last_good() == (ref, folder)


def test_missing_sqlite_database_is_unavailable_and_not_created(tmp_path: Path) -> None:
    database = tmp_path / "nowhere" / "mlflow.db"
    registry = _registry(f"sqlite:///{database}", "m", tmp_path / "cache")

    with pytest.raises(RegistryUnavailableError, match="No MLflow database"):
        registry.resolve()
    assert not database.exists()


def test_unknown_alias_is_unavailable_naming_the_reference(
    folder_store: tuple[str, Path], tmp_path: Path
) -> None:
    uri, _ = folder_store
    registry = _registry(uri, "folder-model", tmp_path / "cache", alias="staging")

    with pytest.raises(RegistryUnavailableError, match="models:/folder-model@staging"):
        registry.resolve()


def test_version_without_a_mojo_is_refused_naming_the_missing_file(
    folder_store: tuple[str, Path], tmp_path: Path
) -> None:
    uri, source = folder_store
    (source / MOJO_FILE_NAME).unlink()
    registry = _registry(uri, "folder-model", tmp_path / "cache")

    with pytest.raises(ArtifactLayoutError, match=MOJO_FILE_NAME):
        registry.fetch(registry.resolve())


def test_version_with_a_model_file_twice_is_refused_naming_both_paths(
    folder_store: tuple[str, Path], tmp_path: Path
) -> None:
    uri, source = folder_store
    (source / "older").mkdir()
    shutil.copy(source / MOJO_FILE_NAME, source / "older" / MOJO_FILE_NAME)
    registry = _registry(uri, "folder-model", tmp_path / "cache")

    with pytest.raises(ArtifactLayoutError, match=r"model\.zip more than once .*older"):
        registry.fetch(registry.resolve())
    assert not list((tmp_path / "cache").rglob(MOJO_FILE_NAME))


def test_cache_that_cannot_be_created_gives_a_clear_error(
    folder_store: tuple[str, Path], tmp_path: Path
) -> None:
    uri, _ = folder_store
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    registry = _registry(uri, "folder-model", blocker)

    with pytest.raises(ModelCacheError, match="SERVING_CACHE_DIR"):
        registry.fetch(registry.resolve())


def test_model_names_with_slashes_stay_inside_the_cache(tmp_path: Path) -> None:
    registry = _registry("sqlite:///unused.db", "../../etc/evil", tmp_path / "cache")

    folder = registry._version_dir("1")

    assert folder.resolve().is_relative_to((tmp_path / "cache").resolve())


@pytest.mark.parametrize(
    "path",
    ["../outside/model.zip", "/etc/passwd", "a/../../b", "a\\..\\b"],
    ids=["parent", "absolute", "nested-parent", "backslashes"],
)
def test_artifact_paths_that_leave_the_cache_are_refused(path: str) -> None:
    with pytest.raises(ModelCacheError, match="leaves the cache"):
        _safe_relative(path)


def test_pointer_to_a_deleted_folder_is_ignored(
    folder_store: tuple[str, Path], tmp_path: Path
) -> None:
    uri, _ = folder_store
    registry = _registry(uri, "folder-model", tmp_path / "cache")
    registry.remember_good(
        VersionRef(name="folder-model", version="9", alias=None, run_id=None)
    )

    assert registry.last_good() is None
