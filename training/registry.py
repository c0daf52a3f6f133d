"""MLflow: the store, the run's files, the pyfunc model and its registered version."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, Schema

import serving
from serving.model_schema import (
    GENMODEL_JAR_NAME,
    MOJO_FILE_NAME,
    SCHEMA_FILE_NAME,
    ModelSchema,
)
from training.config import Settings
from training.errors import EnvironmentProblem

logger = logging.getLogger(__name__)

MOJO_ARTIFACT_DIR = "mojo"
PYFUNC_NAME = "model"
PYFUNC_REQUIREMENTS = [
    "mlflow-skinny>=3.4,<4",
    "py4j==0.10.9.9",
    "pandas>=2.2",
    "numpy>=1.26",
    "pydantic>=2.7",
    "pydantic-settings>=2.3",
]
_SERVING_DIR = Path(serving.__file__).parent
_PYFUNC_FILE = _SERVING_DIR / "pyfunc_model.py"
_REMOTE_SCHEMES = ("http://", "https://", "databricks")


@dataclass(frozen=True)
class Store:
    """A tracking and registry store known to be writable."""

    client: Any
    tracking_uri: str
    experiment_id: str


def open_store(settings: Settings) -> Store:
    """Check the store can be written, create the experiment if needed."""
    uri = settings.tracking_uri
    artifact_location = _artifact_location(settings)
    _prepare_sqlite_folder(uri)
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = client.get_experiment_by_name(settings.experiment)
        if experiment is None:
            experiment_id = client.create_experiment(
                settings.experiment, artifact_location=artifact_location
            )
            logger.info("Created experiment %s in %s", settings.experiment, uri)
        else:
            experiment_id = experiment.experiment_id
        client.set_experiment_tag(
            experiment_id, "last_training_start", str(time.time())
        )
    except Exception as exc:
        raise EnvironmentProblem(
            f"The MLflow store {uri} cannot be written: {_first_line(exc)}. Pass "
            "--tracking-uri with a writable store (for example sqlite:///artifacts/"
            "mlflow.db)."
        ) from exc
    return Store(client=client, tracking_uri=uri, experiment_id=experiment_id)


def log_model_files(model_dir: Path) -> None:
    """Log the MOJO, its jar and the schema under ``mojo/`` of the active run."""
    for name in (MOJO_FILE_NAME, GENMODEL_JAR_NAME, SCHEMA_FILE_NAME):
        mlflow.log_artifact(str(model_dir / name), artifact_path=MOJO_ARTIFACT_DIR)


def log_pyfunc_model(
    model_dir: Path, schema: ModelSchema, example: pd.DataFrame
) -> str:
    """Log the pyfunc model (models from code, nothing pickled); return its URI."""
    info = mlflow.pyfunc.log_model(
        name=PYFUNC_NAME,
        python_model=str(_PYFUNC_FILE),
        artifacts={
            "mojo": str(model_dir / MOJO_FILE_NAME),
            "genmodel_jar": str(model_dir / GENMODEL_JAR_NAME),
            "schema": str(model_dir / SCHEMA_FILE_NAME),
        },
        code_paths=[str(_SERVING_DIR)],
        signature=model_signature(schema),
        input_example=example,
        pip_requirements=PYFUNC_REQUIREMENTS,
    )
    uri: str = info.model_uri
    logger.info("Logged the pyfunc model %s", uri)
    return uri


def model_signature(schema: ModelSchema) -> Any:
    """Inputs: one optional column per feature; outputs: label and probabilities."""
    inputs: list[ColSpec | Any] = [
        ColSpec(
            "double" if feature.kind == "numeric" else "string",
            feature.name,
            required=False,
        )
        for feature in schema.features
    ]
    if schema.is_classifier:
        outputs: list[ColSpec | Any] = [ColSpec("string", "predict")] + [
            ColSpec("double", f"p_{label}") for label in schema.class_labels
        ]
    else:
        outputs = [ColSpec("double", "predict")]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


@contextmanager
def registered_version(
    store: Store, model_name: str, model_uri: str, run_id: str, tags: dict[str, str]
) -> Iterator[str]:
    """Register a new version; delete it if the block fails or is interrupted."""
    try:
        version = str(mlflow.register_model(model_uri, model_name, tags=tags).version)
    except BaseException:
        _delete_versions_of_run(store, model_name, run_id)
        raise
    logger.info("Registered %s version %s", model_name, version)
    try:
        yield version
    except BaseException:
        logger.warning("Removing the half-made version %s of %s", version, model_name)
        try:
            store.client.delete_model_version(model_name, version)
        except MlflowException:
            logger.error("Could not delete version %s", version, exc_info=True)
        raise


def production_version(store: Store, model_name: str, alias: str) -> str | None:
    """The version that holds ``alias``, or None when no version does."""
    try:
        return str(store.client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException as exc:
        if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            return None
        raise


def set_aliases(
    store: Store, model_name: str, version: str, aliases: list[str]
) -> None:
    """Point each alias at ``version``."""
    for alias in aliases:
        store.client.set_registered_model_alias(model_name, alias, version)
        logger.info("Alias %s of %s -> version %s", alias, model_name, version)


def _delete_versions_of_run(store: Store, model_name: str, run_id: str) -> None:
    try:
        versions = store.client.search_model_versions(
            f"name = '{model_name}' and run_id = '{run_id}'"
        )
        for version in versions:
            store.client.delete_model_version(model_name, version.version)
            logger.warning("Removed version %s made by the failed run", version.version)
    except MlflowException:
        logger.error("Could not clean up versions of run %s", run_id, exc_info=True)


def _artifact_location(settings: Settings) -> str | None:
    if settings.tracking_uri.startswith(_REMOTE_SCHEMES):
        return None
    root = settings.artifact_root.expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise EnvironmentProblem(
            f"The MLflow artifact folder {root} cannot be written ({exc.strerror}); "
            "pass --artifact-root with a writable folder."
        ) from exc
    return root.as_uri()


def _prepare_sqlite_folder(uri: str) -> None:
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return
    database = Path(uri[len(prefix) :])
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(
            f"The MLflow store {uri} cannot be written: cannot create folder "
            f"{database.parent} ({exc.strerror}). Pass --tracking-uri with a "
            "writable place."
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
