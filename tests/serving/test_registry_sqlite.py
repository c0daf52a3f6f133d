"""The alias read straight from a real MLflow SQLite store, checked against MLflow."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.reliability_registry import PrivateRegistry
from serving.registry import ModelRegistry, VersionRef, sqlite_database
from serving.registry_sqlite import resolve_from_sqlite


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
