"""Alias and artifact folder read straight from real MLflow SQLite stores.

Each read is checked against what MLflow's client answers for the same store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.reliability_registry import PrivateRegistry
from serving.registry import ModelRegistry, VersionRef, sqlite_database
from serving.registry_sqlite import local_artifact_folder, resolve_from_sqlite


def _read(
    registry: PrivateRegistry,
    *,
    alias: str | None = "production",
    version: str | None = None,
) -> VersionRef | None:
    database = sqlite_database(registry.tracking_uri)
    assert database is not None
    return resolve_from_sqlite(
        database, registry.model_name, alias=alias, version=version, timeout_s=5
    )


def _folder(registry: PrivateRegistry, version: str) -> Path | None:
    database = sqlite_database(registry.tracking_uri)
    assert database is not None
    return local_artifact_folder(database, registry.model_name, version, timeout_s=5)


def _register(registry: PrivateRegistry, source: str) -> str:
    return str(
        registry.client.create_model_version(registry.model_name, source).version
    )


@pytest.mark.parametrize(
    ("alias", "version"), [("production", None), (None, "1")], ids=["alias", "version"]
)
def test_direct_read_gives_what_mlflows_client_gives(
    private_registry: PrivateRegistry,
    tmp_path: Path,
    alias: str | None,
    version: str | None,
) -> None:
    through_mlflow = ModelRegistry(
        private_registry.tracking_uri,
        private_registry.model_name,
        alias=alias,
        version=version,
        cache_dir=tmp_path / "cache",
    ).resolve()

    direct = _read(private_registry, alias=alias, version=version)

    assert direct == through_mlflow
    assert through_mlflow.run_id is not None


def test_moved_alias_is_seen_at_the_next_read(
    private_registry: PrivateRegistry,
) -> None:
    before = _read(private_registry)
    second = private_registry.copy_version()

    private_registry.move_alias(second)

    after = _read(private_registry)
    assert before is not None and after is not None
    assert (before.version, after.version) == (private_registry.first_version, second)


@pytest.mark.parametrize(
    ("alias", "version"),
    [("staging", None), ("latest", None), ("LATEST", None), (None, "99"), (None, "v1")],
    ids=[
        "unknown-alias",
        "latest",
        "latest-upper-case",
        "unknown-version",
        "bad-version",
    ],
)
def test_what_the_read_cannot_tell_is_left_to_mlflow(
    private_registry: PrivateRegistry, alias: str | None, version: str | None
) -> None:
    assert _read(private_registry, alias=alias, version=version) is None


def test_missing_database_is_left_to_mlflow_and_not_created(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"

    found = resolve_from_sqlite(
        database, "m", alias="production", version=None, timeout_s=5
    )

    assert found is None
    assert not database.exists()


def test_database_without_mlflows_tables_is_left_to_mlflow(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE unrelated (x INTEGER)")
    connection.close()

    found = resolve_from_sqlite(
        database, "m", alias="production", version=None, timeout_s=5
    )

    assert found is None


def test_artifact_folder_is_the_one_mlflow_downloads_from(
    private_registry: PrivateRegistry,
) -> None:
    version = private_registry.first_version
    uri = private_registry.client.get_model_version_download_uri(
        private_registry.model_name, version
    )

    folder = _folder(private_registry, version)

    assert uri.startswith("file:///")
    assert folder == Path(urlsplit(uri).path)
    assert folder.is_dir()


def test_artifact_folder_recorded_as_a_plain_path_is_found(
    private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    (tmp_path / "model").mkdir()
    version = _register(private_registry, str(tmp_path / "model"))

    assert _folder(private_registry, version) == tmp_path / "model"


@pytest.mark.parametrize(
    "source",
    [
        "runs:/0123456789abcdef/mojo",
        "mlflow-artifacts:/0/models/m-1/artifacts",
        "s3://bucket/models/m-1/artifacts",
        "file://otherhost{tmp}",
        "relative/model",
        "{tmp}/gone",
    ],
    ids=[
        "runs-uri",
        "mlflow-artifacts",
        "s3",
        "file-uri-of-another-host",
        "relative-path",
        "missing-folder",
    ],
)
def test_artifacts_not_in_a_local_folder_are_left_to_mlflow(
    private_registry: PrivateRegistry, tmp_path: Path, source: str
) -> None:
    version = _register(private_registry, source.format(tmp=tmp_path))

    assert _folder(private_registry, version) is None


def test_artifact_folder_of_an_unknown_version_is_left_to_mlflow(
    private_registry: PrivateRegistry,
) -> None:
    assert _folder(private_registry, "99") is None
    assert _folder(private_registry, "v1") is None


def test_schema_without_a_storage_location_is_left_to_mlflow(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TABLE model_versions (workspace TEXT, name TEXT, version INTEGER, "
            "current_stage TEXT, source TEXT)"
        )
        connection.execute(
            "INSERT INTO model_versions VALUES ('default', 'm', 1, 'None', ?)",
            (str(tmp_path),),
        )
    connection.close()

    found = local_artifact_folder(database, "m", "1", timeout_s=5)

    assert found is None
