"""The chosen model as a model folder: MOJO, genmodel jar and schema."""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h2o

from serving.model_schema import (
    GENMODEL_JAR_NAME,
    MOJO_FILE_NAME,
    SCHEMA_FILE_NAME,
    Feature,
    FeatureStats,
    ModelSchema,
    VariableImportance,
)
from training.automl import AutoMLResult
from training.data import InputSpec
from training.errors import TrainingError

logger = logging.getLogger(__name__)

# Names H2O uses in a performance report, and ours.
_HOLDOUT_METRICS = {
    "AUC": "auc",
    "pr_auc": "aucpr",
    "logloss": "logloss",
    "mean_per_class_error": "mean_per_class_error",
    "RMSE": "rmse",
    "MSE": "mse",
    "mae": "mae",
    "rmsle": "rmsle",
    "r2": "r2",
    "mean_residual_deviance": "mean_residual_deviance",
}


@dataclass(frozen=True)
class ExportedModel:
    """The model that exported, its folder and the leaderboard models skipped."""

    model: Any
    model_dir: Path
    rank: int
    skipped: list[tuple[str, str]]

    @property
    def model_id(self) -> str:
        """H2O's id of the exported model."""
        return str(self.model.model_id)


def export_first_exportable(result: AutoMLResult, model_dir: Path) -> ExportedModel:
    """Download the MOJO of the best model that has one, with its genmodel jar."""
    model_dir.mkdir(parents=True, exist_ok=True)
    skipped: list[tuple[str, str]] = []
    for rank, model_id in enumerate(result.model_ids):
        model = h2o.get_model(model_id)
        try:
            mojo = Path(model.download_mojo(path=str(model_dir), get_genmodel_jar=True))
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            logger.warning("Skipping %s: no MOJO export (%s)", model_id, reason)
            skipped.append((model_id, reason))
            continue
        mojo.replace(model_dir / MOJO_FILE_NAME)
        if not (model_dir / GENMODEL_JAR_NAME).is_file():
            raise TrainingError(f"H2O sent no {GENMODEL_JAR_NAME} with the MOJO")
        why = (
            "the leaderboard leader"
            if rank == 0
            else f"the best of the leaderboard with a MOJO (rank {rank + 1}); "
            f"{len(skipped)} better model(s) cannot export one"
        )
        logger.info("Chose %s: %s", model_id, why)
        return ExportedModel(
            model=model, model_dir=model_dir, rank=rank, skipped=skipped
        )
    raise TrainingError(
        f"None of the {len(skipped)} leaderboard models exports to MOJO; the first "
        f"said: {skipped[0][1] if skipped else 'nothing'}."
    )


def build_schema(
    exported: ExportedModel,
    spec: InputSpec,
    result: AutoMLResult,
    train: Any,
    holdout: Any,
) -> ModelSchema:
    """Describe the exported model completely and write model_schema.json."""
    model = exported.model
    output = model._model_json["output"]
    names: list[str] = list(output["names"])
    domains: list[list[str] | None] = list(output["domains"])
    target_index = names.index(spec.target)
    class_labels = [str(level) for level in domains[target_index] or []]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = train.summary(return_data=True)
    features = [
        _feature(name, domain, summary[name], train)
        for name, domain in zip(names, domains, strict=True)
        if name != spec.target and name in summary
    ]
    schema = ModelSchema(
        model_id=exported.model_id,
        algorithm=_algorithm(result, exported),
        h2o_version=str(h2o.__version__),
        task=spec.task,
        target=spec.target,
        class_labels=class_labels if spec.task != "regression" else [],
        features=features,
        sort_metric=result.sort_metric,
        holdout_metrics=holdout_metrics(model, holdout),
        data_fingerprint=spec.fingerprint,
        leaderboard_top=result.top_rows(),
        variable_importance=variable_importance(model),
    )
    schema.write(exported.model_dir / SCHEMA_FILE_NAME)
    return schema


def holdout_metrics(model: Any, holdout: Any) -> dict[str, float]:
    """H2O's own metrics of ``model`` on the holdout frame, finite values only."""
    report = model.model_performance(holdout)._metric_json
    metrics: dict[str, float] = {}
    for h2o_name, name in _HOLDOUT_METRICS.items():
        value = report.get(h2o_name)
        if isinstance(value, int | float) and math.isfinite(value):
            metrics[name] = float(value)
    return metrics


def variable_importance(model: Any) -> list[VariableImportance]:
    """The model's variable importance; empty when it has none."""
    if model.algo == "stackedensemble":
        logger.info(
            "A stacked ensemble has no variable importance of its own; the schema "
            "lists none (its metalearner ranks base models, not features)."
        )
        return []
    rows = model.varimp(use_pandas=False)
    if not rows:
        logger.info("%s reports no variable importance", model.model_id)
        return []
    return [
        VariableImportance(
            variable=str(variable),
            relative_importance=float(relative),
            scaled_importance=float(scaled),
            percentage=float(percentage),
        )
        for variable, relative, scaled, percentage in rows
    ]


def _algorithm(result: AutoMLResult, exported: ExportedModel) -> str:
    board = result.leaderboard
    if "algo" in board.columns:
        return str(board["algo"].iloc[exported.rank])
    return str(exported.model.algo)


def _feature(
    name: str, domain: list[str] | None, summary: dict[str, Any], train: Any
) -> Feature:
    rows = max(int(train.nrows), 1)
    missing_share = min(float(summary.get("missing_count", 0)) / rows, 1.0)
    if domain is not None:
        stats = FeatureStats(
            missing_share=missing_share, most_frequent=_most_frequent(train, name)
        )
        return Feature(
            name=name,
            kind="categorical",
            levels=[str(level) for level in domain],
            stats=stats,
        )
    stats = FeatureStats(
        missing_share=missing_share,
        min=_finite(summary.get("mins")),
        max=_finite(summary.get("maxs")),
        mean=_finite(summary.get("mean")),
    )
    return Feature(name=name, kind="numeric", stats=stats)


def _most_frequent(train: Any, name: str) -> str | None:
    counts = train[name].table().as_data_frame(use_pandas=False, header=False)
    best = max(counts, key=lambda row: float(row[1]), default=None)
    return str(best[0]) if best else None


def _finite(value: Any) -> float | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None
