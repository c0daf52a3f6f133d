"""The models a run measures, and where each path finds them.

* The demo model: trained by the real training job (``python -m training``)
  into a temporary MLflow store, on the bench's own H2O cluster so that the
  AutoML leader stays there for the ``mlflow.h2o`` and REST paths; or taken
  from ``--tracking-uri`` (the registered ``production`` version) or
  ``--model-dir`` (a local model folder).
* A plain GBM (full run): trained here with H2O directly, exported as MOJO
  with a schema, for a second model shape.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h2o
import mlflow

from bench import h2o_paths
from bench.rows import synthesize
from serving.model_schema import (
    GENMODEL_JAR_NAME,
    MOJO_FILE_NAME,
    SCHEMA_FILE_NAME,
    ModelSchema,
)
from training.registry import log_pyfunc_model

logger = logging.getLogger(__name__)

DEMO = "demo"
GBM = "plain-gbm"


@dataclass
class BenchModel:
    """One model and the handles every path needs to reach it."""

    label: str
    model_dir: Path
    schema: ModelSchema
    # SERVING_* variables that make `python -m serving` load this model
    scorer_source: dict[str, str]
    source_label: str
    tracking_uri: str | None = None
    pyfunc_uri: str | None = None
    h2o_flavour_uri: str | None = None
    bench_tracking_uri: str | None = None
    cluster_model: Any = None
    notes: list[str] = field(default_factory=list)


def _sqlite_uri(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


def train_demo(
    store: Path,
    h2o_url: str | None,
    *,
    max_models: int,
    max_runtime_s: int,
    nfolds: int,
) -> str:
    """Run the training job into ``store``; return the tracking URI."""
    store.mkdir(parents=True, exist_ok=True)
    uri = _sqlite_uri(store)
    command = [
        sys.executable,
        "-m",
        "training",
        "--tracking-uri",
        uri,
        "--artifact-root",
        str(store / "mlruns"),
        "--max-models",
        str(max_models),
        "--max-runtime-secs",
        str(max_runtime_s),
        "--nfolds",
        str(nfolds),
        "--promotion",
        "always",
    ]
    if h2o_url:
        command += ["--h2o-url", h2o_url]
    logger.info("training the demo model: %s", " ".join(command))
    log_path = store / "training.log"
    with log_path.open("wb") as log:
        done = subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=900
        )
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(
            f"the training job failed with exit {done.returncode}; its log "
            f"({log_path}) ends with:\n{tail}"
        )
    return uri


def download_registered(tracking_uri: str, reference: str, destination: Path) -> Path:
    """Download a registered model and gather its three files in one folder."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    downloaded = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=reference, dst_path=str(destination / "download")
        )
    )
    model_dir = destination / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in (MOJO_FILE_NAME, GENMODEL_JAR_NAME, SCHEMA_FILE_NAME):
        found = sorted(downloaded.rglob(name))
        if not found:
            raise FileNotFoundError(
                f"{reference} has no {name} among its artifacts ({downloaded})"
            )
        (model_dir / name).write_bytes(found[0].read_bytes())
    return model_dir


def registry_model(
    label: str, tracking_uri: str, model_name: str, alias: str, work_dir: Path
) -> BenchModel:
    """The registered model ``models:/<name>@<alias>``, as every path sees it."""
    reference = f"models:/{model_name}@{alias}"
    model_dir = download_registered(tracking_uri, reference, work_dir / label)
    return BenchModel(
        label=label,
        model_dir=model_dir,
        schema=ModelSchema.read(model_dir / SCHEMA_FILE_NAME),
        scorer_source={
            "SERVING_TRACKING_URI": tracking_uri,
            "SERVING_MODEL_NAME": model_name,
            "SERVING_MODEL_ALIAS": alias,
        },
        source_label="registry",
        tracking_uri=tracking_uri,
        pyfunc_uri=reference,
    )


def local_model(label: str, model_dir: Path) -> BenchModel:
    """A local model folder (``model.zip``, jar, schema) served without a registry."""
    return BenchModel(
        label=label,
        model_dir=model_dir,
        schema=ModelSchema.read(model_dir / SCHEMA_FILE_NAME),
        scorer_source={"SERVING_LOCAL_MODEL_DIR": str(model_dir)},
        source_label="local",
    )


def attach_cluster_model(model: BenchModel) -> None:
    """Find the model in the running cluster (the native leader if it is
    there), else upload its MOJO as a Generic model."""
    try:
        model.cluster_model = h2o.get_model(model.schema.model_id)
        model.notes.append("cluster model: the native H2O model")
    except Exception:  # h2o raises several types for a missing key
        model.cluster_model = h2o_paths.upload_mojo(model.model_dir)
        model.notes.append("cluster model: the MOJO uploaded as a Generic model")


def log_alternatives(model: BenchModel, bench_store: Path, h2o_port: int) -> None:
    """Log the ``mlflow.h2o`` model (native models only) and a pyfunc if missing."""
    uri = _sqlite_uri(bench_store)
    bench_store.mkdir(parents=True, exist_ok=True)
    model.bench_tracking_uri = uri
    if (
        model.cluster_model is not None
        and "Generic" not in type(model.cluster_model).__name__
    ):
        model.h2o_flavour_uri = h2o_paths.log_h2o_flavour(
            model.cluster_model, uri, h2o_port=h2o_port, name=f"{model.label}-h2o"
        )
    else:
        model.notes.append(
            "mlflow.h2o skipped: the native model is not in the bench's cluster "
            "(a Generic MOJO model cannot be reloaded in a new cluster)"
        )
    if model.pyfunc_uri is None:
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("bench-pyfunc")
        example = synthesize(model.schema, 5).frame()
        with mlflow.start_run(run_name=f"bench-{model.label}-pyfunc"):
            model.pyfunc_uri = log_pyfunc_model(model.model_dir, model.schema, example)
        model.tracking_uri = uri
        model.notes.append("pyfunc logged by the bench (training.registry)")
