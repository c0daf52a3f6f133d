"""The MLflow pyfunc model of a MOJO: it scores with the project's own runtime.

Logged as "models from code": MLflow runs this file to build the model, so
nothing is pickled. The MOJO, its genmodel jar and the schema travel as the
model's artifacts (keys ``mojo``, ``genmodel_jar``, ``schema``); the
``serving`` package travels in ``code_paths``. ``mlflow models serve`` with
``--env-manager local`` therefore needs only this project's serve extra.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import mlflow.models
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from serving.model_schema import GENMODEL_JAR_NAME, MOJO_FILE_NAME, SCHEMA_FILE_NAME
from serving.scorer import BatchPrediction, MojoScorer

ARTIFACT_FILES = {
    "mojo": MOJO_FILE_NAME,
    "genmodel_jar": GENMODEL_JAR_NAME,
    "schema": SCHEMA_FILE_NAME,
}
PREDICTION_COLUMN = "predict"
# Wherever MLflow loads the model, the compiled batch scorer is cached per user.
CLASS_CACHE = Path(tempfile.gettempdir()) / "mojo-serve-java-classes"


def probability_column(label: str) -> str:
    """Name of the output column holding the probability of class ``label``."""
    return f"p_{label}"


def prediction_frame(
    prediction: BatchPrediction, class_labels: list[str]
) -> pd.DataFrame:
    """One row per input row: ``predict`` and, for classifiers, ``p_<label>``."""
    if prediction.probabilities is None or prediction.labels is None:
        return pd.DataFrame({PREDICTION_COLUMN: prediction.values})
    columns: dict[str, Any] = {
        PREDICTION_COLUMN: pd.Series(prediction.labels, dtype="string")
    }
    for position, label in enumerate(class_labels):
        columns[probability_column(label)] = prediction.probabilities[:, position]
    return pd.DataFrame(columns)


class MojoPyfuncModel(PythonModel):
    """Scores pandas frames with a MOJO in the project's JVM runtime."""

    def __init__(self) -> None:
        self._scorer: MojoScorer | None = None

    def load_context(self, context: Any) -> None:
        """Open the MOJO from the model's artifacts (one JVM per loaded model)."""
        self._scorer = MojoScorer.open(
            _model_folder(context.artifacts), class_cache_dir=CLASS_CACHE
        )

    def predict(
        self,
        context: Any,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Score ``model_input``: one column per feature, missing columns as NA."""
        if self._scorer is None:
            raise RuntimeError("The MOJO model was used before MLflow loaded it")
        prediction = self._scorer.score_frame(pd.DataFrame(model_input))
        return prediction_frame(prediction, list(self._scorer.schema.class_labels))


def _model_folder(artifacts: dict[str, str]) -> Path:
    """The folder with the three files, copied together if MLflow split them."""
    paths = {key: Path(artifacts[key]) for key in ARTIFACT_FILES}
    folders = {path.parent for path in paths.values()}
    if len(folders) == 1 and all(
        path.name == ARTIFACT_FILES[key] for key, path in paths.items()
    ):
        return folders.pop()
    folder = Path(tempfile.mkdtemp(prefix="mojo-pyfunc-"))
    for key, path in paths.items():
        shutil.copy(path, folder / ARTIFACT_FILES[key])
    return folder


if __name__ != "serving.pyfunc_model":
    # MLflow executes this file under its own module name to load the model.
    mlflow.models.set_model(MojoPyfuncModel())
