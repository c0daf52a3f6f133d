"""Promotion: should the new version take the ``production`` alias?"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow.artifacts
import numpy as np
from mlflow.exceptions import MlflowException

from serving.model_schema import (
    GENMODEL_JAR_NAME,
    MOJO_FILE_NAME,
    SCHEMA_FILE_NAME,
    ModelSchema,
)
from serving.runtime_errors import MojoRuntimeError
from serving.scorer import BatchPrediction, MojoScorer
from training.config import Settings
from training.errors import TrainingError
from training.frames import Holdout
from training.metrics import (
    MetricUnavailable,
    classification_metric,
    is_better_or_equal,
    metric_for_task,
    regression_metric,
)
from training.registry import Store, production_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromotionDecision:
    """Whether to move the alias, why, and the scores compared."""

    promote: bool
    reason: str
    metric: str
    new_score: float | None = None
    production_score: float | None = None
    production_version: str | None = None


def decide_promotion(
    settings: Settings,
    store: Store,
    schema: ModelSchema,
    holdout: Holdout,
    new_prediction: BatchPrediction,
) -> PromotionDecision:
    """Apply the policy; ``if-better`` scores the production MOJO on this holdout."""
    metric = metric_for_task(schema.sort_metric, schema.task)
    new_score = _score_or_none(metric, schema, holdout, new_prediction)
    if settings.promotion == "never":
        return PromotionDecision(False, "policy never", metric, new_score)
    if settings.promotion == "always":
        return PromotionDecision(True, "policy always", metric, new_score)

    current = production_version(store, settings.model_name, settings.production_alias)
    if current is None:
        return PromotionDecision(
            True, f"no version holds {settings.production_alias} yet", metric, new_score
        )
    try:
        production_schema, production_prediction = _score_production(
            settings, current, holdout
        )
    except (MojoRuntimeError, MlflowException, OSError) as exc:
        raise TrainingError(
            f"Cannot score version {current} of {settings.model_name} (alias "
            f"{settings.production_alias}) to compare with: {exc}. Fix that version "
            "or pass --promotion always."
        ) from exc
    if (production_schema.task, production_schema.target) != (
        schema.task,
        schema.target,
    ):
        return PromotionDecision(
            False,
            f"version {current} predicts {production_schema.target} "
            f"({production_schema.task}), not comparable; use --promotion always "
            "to replace it",
            metric,
            new_score,
            production_version=current,
        )
    old_score = _score_or_none(
        metric, production_schema, holdout, production_prediction
    )
    if new_score is None or old_score is None:
        return PromotionDecision(
            False,
            f"{metric} cannot be computed on this holdout; use --promotion always",
            metric,
            new_score,
            old_score,
            current,
        )
    better = is_better_or_equal(metric, new_score, old_score)
    verdict = "at least as good as" if better else "worse than"
    return PromotionDecision(
        better,
        f"{metric} {new_score:.6g} is {verdict} version {current}'s {old_score:.6g}",
        metric,
        new_score,
        old_score,
        current,
    )


def score_metric(
    metric: str, schema: ModelSchema, holdout: Holdout, prediction: BatchPrediction
) -> float:
    """``metric`` of one model's runtime predictions against the holdout target."""
    truth = holdout.target_cells(schema.target)
    if schema.task == "regression":
        if prediction.values is None:
            raise MetricUnavailable("the model returned no values")
        actual = np.array(
            [float(cell) if cell is not None else np.nan for cell in truth],
            dtype=np.float64,
        )
        return regression_metric(metric, actual, prediction.values)
    if prediction.probabilities is None or prediction.labels is None:
        raise MetricUnavailable("the model returned no probabilities")
    return classification_metric(
        metric,
        [cell if cell is not None else "" for cell in truth],
        schema.class_labels,
        prediction.probabilities,
        prediction.labels,
    )


def _score_or_none(
    metric: str, schema: ModelSchema, holdout: Holdout, prediction: BatchPrediction
) -> float | None:
    try:
        return score_metric(metric, schema, holdout, prediction)
    except MetricUnavailable as exc:
        logger.warning("Cannot compute %s: %s", metric, exc)
        return None


def _score_production(
    settings: Settings, version: str, holdout: Holdout
) -> tuple[ModelSchema, BatchPrediction]:
    uri = f"models:/{settings.model_name}/{version}"
    with tempfile.TemporaryDirectory(prefix="production-model-") as folder:
        downloaded = Path(
            mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=folder)
        )
        model_dir = _gather_model_files(downloaded, Path(folder) / "gathered")
        logger.info("Scoring production version %s on the holdout", version)
        with MojoScorer.open(
            model_dir,
            heap_mb=settings.runtime_heap_mb,
            class_cache_dir=settings.runtime_class_cache,
        ) as scorer:
            columns = holdout.feature_columns(scorer.schema)
            return scorer.schema, scorer.score_columns(columns, holdout.n_rows)


def _gather_model_files(downloaded: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in (MOJO_FILE_NAME, GENMODEL_JAR_NAME, SCHEMA_FILE_NAME):
        found = next(iter(sorted(downloaded.rglob(name))), None)
        if found is None:
            raise FileNotFoundError(f"The production model has no {name}")
        found.replace(folder / name)
    return folder
