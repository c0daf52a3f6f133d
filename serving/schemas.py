"""Request and response models: they document the HTTP API in OpenAPI.

The hot path parses and answers with orjson directly (per-row pydantic models
would cost more than the scoring); these models describe the same shapes and
are used as-is for the small endpoints.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from serving.model_schema import Feature, Task, VariableImportance

Source = Literal["registry", "cache", "local"]
WarningCode = Literal["unknown_level", "missing_feature", "unknown_field"]
Value = float | str | None

_EXAMPLE_RECORD: dict[str, JsonValue] = {
    "AGE": 65,
    "RACE": "1",
    "DPROS": "2",
    "DCAPS": "1",
    "PSA": 1.4,
    "VOL": 0.0,
    "GLEASON": 6,
}


# One row: feature name to a number, a string, or null (missing).
PREDICT_RECORD_SCHEMA: dict[str, Any] = {
    "title": "PredictRecord",
    "type": "object",
    "additionalProperties": {"type": ["number", "string", "null"]},
    "examples": [_EXAMPLE_RECORD],
}
_RECORDS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": PREDICT_RECORD_SCHEMA,
    "minItems": 1,
}
PREDICT_REQUEST_SCHEMA: dict[str, Any] = {
    "oneOf": [PREDICT_RECORD_SCHEMA, _RECORDS_SCHEMA],
}
INVOCATIONS_REQUEST_SCHEMA: dict[str, Any] = {
    "title": "InvocationsRequest",
    "description": "MLflow's scoring protocol: exactly one of the keys.",
    "type": "object",
    "properties": {
        "dataframe_split": {
            "type": "object",
            "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "data": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "array",
                        "items": {"type": ["number", "string", "null"]},
                    },
                },
            },
            "required": ["columns", "data"],
        },
        "dataframe_records": _RECORDS_SCHEMA,
        "instances": _RECORDS_SCHEMA,
        "inputs": _RECORDS_SCHEMA,
    },
    "oneOf": [
        {"required": [key]}
        for key in ("dataframe_split", "dataframe_records", "instances", "inputs")
    ],
}
PREDICT_REQUEST_EXAMPLES: dict[str, object] = {
    "one record": {"value": _EXAMPLE_RECORD},
    "a batch": {"value": [_EXAMPLE_RECORD, {**_EXAMPLE_RECORD, "AGE": 71}]},
}


class ModelRef(BaseModel):
    """Which model answered: every prediction response carries it."""

    name: str = Field(examples=["mojo-demo"])
    version: str | None = Field(examples=["3"])
    alias: str | None = Field(examples=["production"])
    algorithm: str = Field(examples=["StackedEnsemble"])
    run_id: str | None = Field(examples=["4f1c0d3b9e8a4c7f9d2a1b0c3e5f7a9b"])


class RowWarning(BaseModel):
    """Something the scorer did with a row that the caller should know about."""

    field: str = Field(examples=["RACE"])
    code: WarningCode
    message: str = Field(
        examples=["level '7' was not seen in training; scored as missing"]
    )


class Prediction(BaseModel):
    """One scored row: label and probabilities, or a value for regression."""

    label: str | None = Field(default=None, examples=["1"])
    probabilities: dict[str, float] | None = Field(
        default=None, examples=[{"0": 0.31, "1": 0.69}]
    )
    value: float | None = Field(default=None, examples=[12.3])
    warnings: list[RowWarning] = Field(default_factory=list)


class PredictResponse(BaseModel):
    """The answer of ``POST /predict``: one prediction per input row, in order."""

    model: ModelRef
    task: Task
    predictions: list[Prediction]


class InvocationsResponse(BaseModel):
    """MLflow scoring protocol answer: one record per row."""

    predictions: list[dict[str, float | str | None]] = Field(
        examples=[[{"predict": "1", "p_0": 0.31, "p_1": 0.69}]]
    )


class ModelInfo(BaseModel):
    """The served model: schema, metrics, provenance and an example request."""

    model_config = ConfigDict(protected_namespaces=())

    name: str
    version: str | None
    alias: str | None
    run_id: str | None
    algorithm: str
    task: Task
    target: str
    class_labels: list[str]
    features: list[Feature]
    sort_metric: str
    holdout_metrics: dict[str, float]
    leaderboard_top: list[dict[str, str | float | None]]
    variable_importance: list[VariableImportance]
    example_request: dict[str, Value]
    source: Source
    loaded_at: str = Field(examples=["2026-12-03T17:00:00+00:00"])


class HealthModel(BaseModel):
    name: str
    version: str | None
    alias: str | None


class Liveness(BaseModel):
    status: Literal["live"] = "live"


class Readiness(BaseModel):
    """Ready means a model is loaded and its JVM answers."""

    status: Literal["ready", "not_ready"]
    model: HealthModel | None
    jvm: Literal["alive", "dead", "restarting", "none"]
    source: Source | None
    last_reload_error: str | None


class ReloadResult(BaseModel):
    """What ``POST /admin/reload`` did."""

    outcome: Literal["reloaded", "unchanged"]
    version: str | None
    message: str


class ErrorDetailModel(BaseModel):
    problem: str = Field(examples=["not a number"])
    row: int | None = Field(default=None, examples=[0])
    field: str | None = Field(default=None, examples=["AGE"])
    line: int | None = None
    expected: str | None = Field(default=None, examples=["a number or null"])


class ErrorBody(BaseModel):
    code: str = Field(examples=["invalid_input"])
    message: str = Field(examples=["Row 0, field AGE: not a number."])
    details: list[ErrorDetailModel] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error the scorer answers: a code, a sentence, located details."""

    error: ErrorBody
