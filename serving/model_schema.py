"""The model schema: the contract between the training job and the scorer.

The training job writes it as ``model_schema.json`` beside each MOJO; the scorer
and, through the scorer's ``GET /model``, the UI read it. It lives in
``serving`` so that the scorer can import it without ``h2o``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_FILE_NAME = "model_schema.json"
MOJO_FILE_NAME = "model.zip"
GENMODEL_JAR_NAME = "h2o-genmodel.jar"

Task = Literal["binary", "multiclass", "regression"]
FeatureKind = Literal["numeric", "categorical"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FeatureStats(_Frozen):
    """Training statistics of one feature: validation hints and UI defaults."""

    missing_share: float = Field(ge=0.0, le=1.0)
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    most_frequent: str | None = None


class Feature(_Frozen):
    """One model input, in the order the MOJO expects it."""

    name: str
    kind: FeatureKind
    levels: list[str] = Field(default_factory=list)
    stats: FeatureStats


class DataFingerprint(_Frozen):
    """What the model was trained on: shape and a content hash."""

    rows: int
    columns: int
    sha256: str


class VariableImportance(_Frozen):
    variable: str
    relative_importance: float
    scaled_importance: float
    percentage: float


class ModelSchema(_Frozen):
    """Everything the scorer and the UI need to know about one MOJO."""

    schema_version: Literal[1] = 1
    model_id: str
    algorithm: str
    h2o_version: str
    task: Task
    target: str
    class_labels: list[str] = Field(default_factory=list)
    features: list[Feature]
    sort_metric: str
    holdout_metrics: dict[str, float] = Field(default_factory=dict)
    data_fingerprint: DataFingerprint
    leaderboard_top: list[dict[str, str | float | None]] = Field(default_factory=list)
    variable_importance: list[VariableImportance] = Field(default_factory=list)

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    def feature(self, name: str) -> Feature:
        """Return the feature called ``name``; KeyError if the model has none."""
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> ModelSchema:
        return cls.model_validate_json(path.read_bytes())
