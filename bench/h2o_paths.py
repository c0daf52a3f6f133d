"""H2O itself: a private cluster that trains the plain GBM, serves the MOJOs
through its REST API, and logs them as ``mlflow.h2o`` models; and
``h2o.mojo_predict_pandas`` (a fresh JVM per call).

The bench may import ``h2o``; the scorer never does.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h2o
import mlflow
import mlflow.h2o
from h2o.estimators import H2OGradientBoostingEstimator

from bench.batches import repeats_for, time_call
from bench.results import Figure
from bench.rows import BenchRows
from bench.servers import free_port
from serving.model_schema import (
    GENMODEL_JAR_NAME,
    MOJO_FILE_NAME,
    SCHEMA_FILE_NAME,
    DataFingerprint,
    Feature,
    FeatureStats,
    ModelSchema,
)

logger = logging.getLogger(__name__)

_GENMODEL_ENTRY = "www/3/h2o-genmodel.jar"
H2O_REST = "h2o-cluster-rest"
MOJO_PREDICT_PANDAS = "h2o-mojo-predict-pandas"


def h2o_package_dir() -> Path:

    return Path(h2o.__file__).parent


def extract_genmodel_jar(destination: Path) -> Path:
    """Copy h2o-genmodel.jar out of the wheel's h2o.jar into ``destination``."""
    target = destination / GENMODEL_JAR_NAME
    h2o_jar = h2o_package_dir() / "backend" / "bin" / "h2o.jar"
    with zipfile.ZipFile(h2o_jar) as archive, archive.open(_GENMODEL_ENTRY) as src:
        target.write_bytes(src.read())
    return target


@contextmanager
def h2o_cluster(work_dir: Path, *, memory: str = "2G") -> Iterator[str]:
    """A private H2O on a free loopback port, shut down on exit; yields its URL."""

    port = free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    h2o.init(
        ip="127.0.0.1",
        port=port,
        nthreads=2,
        max_mem_size=memory,
        ice_root=str(work_dir),
        log_dir=str(work_dir / "h2o-logs"),
        verbose=False,
    )
    h2o.no_progress()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        h2o.cluster().shutdown()


def _feature(frame: Any, name: str) -> Feature:
    column = frame[name]
    missing_share = float(column.isna().sum()) / frame.nrows
    if column.isfactor()[0]:
        levels = [str(level) for level in column.levels()[0]]
        stats = FeatureStats(missing_share=missing_share, most_frequent=levels[0])
        return Feature(name=name, kind="categorical", levels=levels, stats=stats)
    stats = FeatureStats(
        missing_share=missing_share,
        min=float(column.min()),
        max=float(column.max()),
        mean=float(column.mean()[0]),
    )
    return Feature(name=name, kind="numeric", stats=stats)


def train_plain_gbm(out_dir: Path) -> Path:
    """Train a plain H2O GBM (prostate, CAPSULE) into a model folder with schema."""

    csv_path = h2o_package_dir() / "h2o_data" / "prostate.csv"
    frame = h2o.upload_file(str(csv_path))
    for name in ("CAPSULE", "RACE", "DPROS", "DCAPS"):
        frame[name] = frame[name].asfactor()
    features = [c for c in frame.columns if c not in {"CAPSULE", "ID"}]
    model = H2OGradientBoostingEstimator(ntrees=50, max_depth=5, seed=42)
    model.train(x=features, y="CAPSULE", training_frame=frame)

    out_dir.mkdir(parents=True, exist_ok=True)
    mojo = Path(model.download_mojo(path=str(out_dir)))
    mojo.rename(out_dir / MOJO_FILE_NAME)
    extract_genmodel_jar(out_dir)
    schema = ModelSchema(
        model_id=model.model_id,
        algorithm="GBM",
        h2o_version=h2o.__version__,
        task="binary",
        target="CAPSULE",
        class_labels=[str(level) for level in frame["CAPSULE"].levels()[0]],
        features=[_feature(frame, name) for name in features],
        sort_metric="AUC",
        data_fingerprint=DataFingerprint(
            rows=frame.nrows,
            columns=frame.ncols,
            sha256=hashlib.sha256(csv_path.read_bytes()).hexdigest(),
        ),
    )
    schema.write(out_dir / SCHEMA_FILE_NAME)
    logger.info("plain GBM trained into %s", out_dir)
    return out_dir


def upload_mojo(model_dir: Path) -> Any:
    """Load the model folder's MOJO into the cluster (a Generic model)."""

    return h2o.upload_mojo(str(model_dir / MOJO_FILE_NAME))


def _column_types(schema: ModelSchema) -> dict[str, str]:
    return {
        f.name: ("enum" if f.kind == "categorical" else "numeric")
        for f in schema.features
    }


def measure_cluster_rest(
    model_label: str,
    cluster_model: Any,
    schema: ModelSchema,
    rows: BenchRows,
    *,
    sizes: list[int],
    repeats: int,
) -> list[Figure]:
    """Upload the rows as a frame, predict, download: through the REST API."""

    types = _column_types(schema)
    figures = []
    for size in sizes:
        frame = rows.head(size).frame()

        def call(frame: Any = frame) -> object:
            h2o_frame = h2o.H2OFrame(frame, column_types=types)
            predicted = cluster_model.predict(h2o_frame)
            result = predicted.as_data_frame(use_multi_thread=True)
            h2o.remove([h2o_frame, predicted])
            return result

        figures.append(
            time_call(
                call,
                model=model_label,
                path=H2O_REST,
                rows=size,
                repeats=repeats_for(size, repeats),
            )
        )
    return figures


def measure_mojo_predict_pandas(
    model_label: str,
    model_dir: Path,
    rows: BenchRows,
    *,
    sizes: list[int],
    repeats: int,
) -> list[Figure]:
    """``h2o.mojo_predict_pandas``: CSV to disk, a JVM running PredictCsv, CSV back."""

    figures = []
    for size in sizes:
        frame = rows.head(size).frame()

        def call(frame: Any = frame) -> object:
            return h2o.mojo_predict_pandas(
                frame,
                str(model_dir / MOJO_FILE_NAME),
                genmodel_jar_path=str(model_dir / GENMODEL_JAR_NAME),
            )

        figures.append(
            time_call(
                call,
                model=model_label,
                path=MOJO_PREDICT_PANDAS,
                rows=size,
                repeats=repeats_for(size, repeats),
            )
        )
    return figures


def log_h2o_flavour(
    cluster_model: Any, tracking_uri: str, *, h2o_port: int, name: str
) -> str:
    """Log the cluster model with ``mlflow.h2o``; return its model URI.

    ``mlflow models serve`` will start its own H2O on ``h2o_port`` (loopback)
    from the saved settings, load the binary model there and predict.
    """
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("bench-h2o-flavour")
    settings = {
        "init": {
            "ip": "127.0.0.1",
            "port": h2o_port,
            "nthreads": 2,
            "max_mem_size": "1G",
            "verbose": False,
        }
    }
    with mlflow.start_run(run_name=f"bench-{name}"):
        info = mlflow.h2o.log_model(cluster_model, name=name, settings=settings)
    logger.info("logged %s as the mlflow.h2o model %s", name, info.model_uri)
    return str(info.model_uri)


def copy_model_dir(source: Path, destination: Path) -> Path:
    """Copy the three model files into a fresh folder."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in (MOJO_FILE_NAME, GENMODEL_JAR_NAME, SCHEMA_FILE_NAME):
        shutil.copy(source / name, destination / name)
    return destination
