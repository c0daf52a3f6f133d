"""The scorer's JSON answers as the UI reads them (the HTTP contract, UI side).

Extra fields are ignored so that a newer scorer does not break an older UI.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Task = Literal["binary", "multiclass", "regression"]
FieldValue = float | int | str | None


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ModelRef(_Answer):
    """Which registered model version answered."""

    name: str
    version: str | None = None
    alias: str | None = None
    algorithm: str | None = None
    run_id: str | None = None

    def describe(self) -> str:
        """Return e.g. ``mojo-demo version 3 (@production)``."""
        text = self.name
        if self.version:
            text += f" version {self.version}"
        if self.alias:
            text += f" (@{self.alias})"
        return text


class FeatureStats(_Answer):
    missing_share: float = 0.0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    most_frequent: str | None = None


class FeatureInfo(_Answer):
    name: str
    kind: Literal["numeric", "categorical"]
    levels: list[str] = Field(default_factory=list)
    stats: FeatureStats = Field(default_factory=FeatureStats)


class VariableImportance(_Answer):
    variable: str
    relative_importance: float
    scaled_importance: float
    percentage: float


class ModelInfo(_Answer):
    """``GET /model``: the served model and its training summary."""

    name: str
    version: str | None = None
    alias: str | None = None
    run_id: str | None = None
    algorithm: str | None = None
    task: Task
    target: str | None = None
    class_labels: list[str] = Field(default_factory=list)
    features: list[FeatureInfo]
    sort_metric: str | None = None
    holdout_metrics: dict[str, float | None] = Field(default_factory=dict)
    leaderboard_top: list[dict[str, Any]] = Field(default_factory=list)
    variable_importance: list[VariableImportance] = Field(default_factory=list)
    example_request: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None
    loaded_at: str | None = None

    @property
    def ref(self) -> ModelRef:
        return ModelRef(
            name=self.name,
            version=self.version,
            alias=self.alias,
            algorithm=self.algorithm,
            run_id=self.run_id,
        )

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @property
    def positive_class(self) -> str | None:
        """The class whose probability summarises a binary model (H2O: the last)."""
        if self.task == "binary" and self.class_labels:
            return self.class_labels[-1]
        return None


class PredictionWarning(_Answer):
    field: str | None = None
    code: str
    message: str


class Prediction(_Answer):
    """One scored row: a label and class probabilities, or a value."""

    label: str | None = None
    probabilities: dict[str, float] | None = None
    value: float | None = None
    warnings: list[PredictionWarning] = Field(default_factory=list)


class PredictResponse(_Answer):
    """``POST /predict``."""

    model: ModelRef
    task: Task
    predictions: list[Prediction]


class ReadyStatus(_Answer):
    """``GET /health/ready``, whether it answered 200 or 503."""

    status: str
    model: ModelRef | None = None
    jvm: str | None = None
    source: str | None = None
    last_reload_error: str | None = None

    @property
    def is_ready(self) -> bool:
        return self.status == "ready"


class ErrorDetail(_Answer):
    row: int | None = None
    line: int | None = None
    field: str | None = None
    problem: str | None = None
    expected: str | None = None

    def describe(self) -> str:
        """Return one readable line, e.g. ``row 0, AGE: not a number``."""
        where = ", ".join(
            part
            for part in (
                f"row {self.row}" if self.row is not None else "",
                f"line {self.line}" if self.line is not None else "",
                self.field or "",
            )
            if part
        )
        text = f"{where}: {self.problem}" if where else (self.problem or "")
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class ErrorBody(_Answer):
    code: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorAnswer(_Answer):
    """Every scorer error: ``{"error": {...}}``."""

    error: ErrorBody
