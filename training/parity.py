"""Parity: the MOJO scored by the project's runtime must equal the cluster."""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving.model_schema import ModelSchema
from serving.scorer import BatchPrediction, MojoScorer
from training.errors import ParityError
from training.frames import Holdout

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParityReport:
    """The runtime's holdout predictions and how far they were from the cluster's."""

    prediction: BatchPrediction
    max_abs_difference: float
    rows: int


def check_parity(
    model: Any,
    holdout_frame: Any,
    holdout: Holdout,
    scorer: MojoScorer,
    tolerance: float,
) -> ParityReport:
    """Score the holdout both ways; raise ParityError beyond ``tolerance``."""
    schema = scorer.schema
    cluster_labels, cluster_values = _cluster_predictions(model, holdout_frame, schema)
    prediction = scorer.score_columns(holdout.feature_columns(schema), holdout.n_rows)
    mojo_values = _values(prediction)

    if mojo_values.shape != cluster_values.shape:
        raise ParityError(
            f"The MOJO returned {mojo_values.shape} predictions, the cluster "
            f"{cluster_values.shape}; the exported model does not match."
        )
    difference = _max_abs_difference(mojo_values, cluster_values)
    if not difference <= tolerance:
        raise ParityError(
            f"MOJO and cluster predictions differ by up to {difference:.3g} on the "
            f"holdout (allowed {tolerance:g}); nothing was registered."
        )
    if prediction.labels is not None and cluster_labels is not None:
        mismatched = sum(
            a != b for a, b in zip(prediction.labels, cluster_labels, strict=True)
        )
        if mismatched:
            raise ParityError(
                f"MOJO and cluster disagree on the predicted label of {mismatched} "
                "holdout rows; nothing was registered."
            )
    logger.info(
        "Parity holds on %d holdout rows: max difference %.3g (allowed %g)",
        holdout.n_rows,
        difference,
        tolerance,
    )
    return ParityReport(prediction, difference, holdout.n_rows)


def _cluster_predictions(
    model: Any, frame: Any, schema: ModelSchema
) -> tuple[list[str] | None, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows: list[list[str]] = model.predict(frame).as_data_frame(
            use_pandas=False, header=True
        )
    body = rows[1:]
    if not schema.is_classifier:
        return None, np.array([_float(row[0]) for row in body], dtype=np.float64)
    labels = [row[0] for row in body]
    values = np.array(
        [
            [_float(cell) for cell in row[1 : 1 + len(schema.class_labels)]]
            for row in body
        ],
        dtype=np.float64,
    )
    return labels, values


def _values(prediction: BatchPrediction) -> np.ndarray:
    values = (
        prediction.probabilities
        if prediction.probabilities is not None
        else prediction.values
    )
    if values is None:
        raise ParityError("The MOJO runtime returned no predictions for the holdout.")
    return np.asarray(values, dtype=np.float64)


def _max_abs_difference(left: np.ndarray, right: np.ndarray) -> float:
    both_missing = np.isnan(left) & np.isnan(right)
    difference = np.where(both_missing, 0.0, np.abs(left - right))
    if difference.size == 0:
        return 0.0
    worst = float(np.max(difference))
    return math.inf if math.isnan(worst) else worst


def _float(cell: str) -> float:
    return float(cell) if cell != "" else math.nan
