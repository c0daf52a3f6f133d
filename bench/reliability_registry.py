"""A private MLflow registry for the fault checks: copies, versions, aliases.

The checks move aliases, register broken versions and take the registry away;
they do it in a private copy of the trained store (SQLite backup API), so a
shared test session's registry and scorers are never touched. Artifacts stay
where the training job put them and are only read.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from serving.model_schema import GENMODEL_JAR_NAME, MOJO_FILE_NAME, SCHEMA_FILE_NAME
from serving.registry import ModelRegistry, VersionRef

ALIAS = "production"
_SQLITE_PREFIX = "sqlite:///"


@dataclass(frozen=True)
class ModelSource:
    """A trained, registered model: where it is and one local copy of its files."""

    tracking_uri: str
    model_name: str
    version: str
    model_dir: Path


class PrivateRegistry:
    """A copy of a store's database that the checks may change at will."""

    def __init__(self, source: ModelSource, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.database = folder / "mlflow.db"
        _backup_sqlite(_database_path(source.tracking_uri), self.database)
        self.tracking_uri = f"{_SQLITE_PREFIX}{self.database}"
        self.model_name = source.model_name
        self.model_dir = source.model_dir
        self.client: Any = MlflowClient(
            tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
        )
        self.first_version = source.version
        self._experiment_id: str | None = None

    def scorer_settings(self) -> dict[str, str]:
        """Settings for a scorer that follows this registry's alias."""
        return {
            "tracking_uri": self.tracking_uri,
            "model_name": self.model_name,
            "model_alias": ALIAS,
        }

    def copy_version(self, version: str | None = None) -> str:
        """Register a new version with the same artifacts as ``version``."""
        version = version or self.first_version
        found = self.client.get_model_version(self.model_name, version)
        # The artifact location, not a models:/ URI: MLflow would resolve that
        # against the process-wide tracking URI instead of this copy.
        location = self.client.get_model_version_download_uri(self.model_name, version)
        created = self.client.create_model_version(
            self.model_name, location, run_id=found.run_id
        )
        return str(created.version)

    def register_files(self, files: dict[str, bytes], label: str) -> str:
        """Log ``files`` (relative path -> bytes) as a run and register them."""
        staging = self.folder / f"upload-{label}-{uuid.uuid4().hex[:8]}"
        for relative, content in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        run = self.client.create_run(self._experiment())
        self.client.log_artifacts(run.info.run_id, str(staging), "model")
        self.client.set_terminated(run.info.run_id)
        source = f"{run.info.artifact_uri}/model"
        created = self.client.create_model_version(
            self.model_name, source, run_id=run.info.run_id
        )
        return str(created.version)

    def model_files(self) -> dict[str, bytes]:
        """The three files of the trained model, as the scorer wants them."""
        return {
            name: (self.model_dir / name).read_bytes()
            for name in (MOJO_FILE_NAME, GENMODEL_JAR_NAME, SCHEMA_FILE_NAME)
        }

    def move_alias(self, version: str) -> None:
        """Point the alias at ``version``."""
        self.client.set_registered_model_alias(self.model_name, ALIAS, version)

    def _experiment(self) -> str:
        if self._experiment_id is None:
            self._experiment_id = str(
                self.client.create_experiment(
                    f"reliability-{uuid.uuid4().hex[:8]}",
                    artifact_location=(self.folder / "mlruns").as_uri(),
                )
            )
        return self._experiment_id

    def take_offline(self) -> Path:
        """Move the database away (the registry stops answering); return where."""
        hidden = self.database.with_name("mlflow.db.offline")
        self.database.rename(hidden)
        return hidden

    def bring_online(self, hidden: Path) -> None:
        """Put the database back after :meth:`take_offline`."""
        hidden.rename(self.database)


def corrupt_mojo_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """The model's files with a MOJO that is not a zip at all."""
    return {**files, MOJO_FILE_NAME: b"PK\x03\x04 this is not a MOJO " * 64}


def incompatible_schema_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """The model's files with a schema whose class labels the MOJO does not have."""
    schema = json.loads(files[SCHEMA_FILE_NAME])
    schema["class_labels"] = [f"not-{label}" for label in schema["class_labels"]]
    return {**files, SCHEMA_FILE_NAME: json.dumps(schema).encode()}


class _Trap:
    """Unpickling this creates ``marker``: proof that something unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.marker, "w"))


def booby_trapped_pyfunc(files: dict[str, bytes], marker: Path) -> dict[str, bytes]:
    """A pyfunc model folder whose python_model.pkl writes ``marker`` when loaded."""
    mlmodel = (
        "flavors:\n"
        "  python_function:\n"
        "    loader_module: mlflow.pyfunc.model\n"
        "    python_model: python_model.pkl\n"
        "    python_version: 3.11.0\n"
        "    artifacts:\n"
        "      mojo: {path: artifacts/model.zip}\n"
        "      genmodel_jar: {path: artifacts/h2o-genmodel.jar}\n"
        "      schema: {path: artifacts/model_schema.json}\n"
        "mlflow_version: 3.0.0\n"
    )
    return {
        "MLmodel": mlmodel.encode(),
        "python_model.pkl": pickle.dumps(_Trap(marker)),
        **{f"artifacts/{name}": content for name, content in files.items()},
    }


def local_copy(tracking_uri: str, model_name: str, version: str, cache: Path) -> Path:
    """Download a registered version's three files the way the scorer does."""
    registry = ModelRegistry(
        tracking_uri, model_name, alias=None, version=version, cache_dir=cache
    )
    return registry.fetch(
        VersionRef(name=model_name, version=version, alias=None, run_id=None)
    )


def _database_path(tracking_uri: str) -> Path:
    if not tracking_uri.startswith(_SQLITE_PREFIX):
        raise ValueError(
            f"the reliability checks copy a SQLite store; {tracking_uri} is not one "
            f"(pass a sqlite:/// tracking URI)"
        )
    return Path(tracking_uri.removeprefix(_SQLITE_PREFIX))


def _backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy even while another process writes to ``source``."""
    if target.exists():
        target.unlink()
    with sqlite3.connect(source) as reader, sqlite3.connect(target) as writer:
        reader.backup(writer)
    reader.close()
    writer.close()


def remove(folder: Path) -> None:
    """Delete a folder tree made by the checks."""
    shutil.rmtree(folder, ignore_errors=True)
