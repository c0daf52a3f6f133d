"""Model metrics computed from runtime predictions, so two MOJOs compare alike.

Names follow H2O's leaderboard columns. AUC and AUCPR here are exact
(rank-based and step-wise); H2O bins its scores, so its figures can differ in
the third decimal. Both models of a comparison go through the same code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from serving.model_schema import Task

HIGHER_IS_BETTER = frozenset({"auc", "aucpr", "r2"})
_EPSILON = 1e-15


class MetricUnavailable(ValueError):
    """The metric does not apply to this task or these predictions."""


def is_better_or_equal(metric: str, candidate: float, reference: float) -> bool:
    """True when ``candidate`` is at least as good as ``reference`` on ``metric``."""
    if metric in HIGHER_IS_BETTER:
        return candidate >= reference
    return candidate <= reference


def classification_metric(
    metric: str,
    truth: Sequence[str],
    class_labels: Sequence[str],
    probabilities: np.ndarray,
    predicted: Sequence[str],
) -> float:
    """``metric`` of class probabilities against true labels (unlabelled dropped)."""
    index = {label: position for position, label in enumerate(class_labels)}
    keep = [row for row, label in enumerate(truth) if label in index]
    if not keep:
        raise MetricUnavailable("no holdout row has a known class label")
    classes = np.array([index[truth[row]] for row in keep])
    probs = np.asarray(probabilities, dtype=np.float64)[keep]
    if metric == "logloss":
        chosen = probs[np.arange(len(keep)), classes]
        return float(-np.mean(np.log(np.clip(chosen, _EPSILON, 1.0))))
    if metric == "mean_per_class_error":
        guessed = np.array([index.get(predicted[row], -1) for row in keep])
        errors = [np.mean(guessed[classes == c] != c) for c in np.unique(classes)]
        return float(np.mean(errors))
    if metric in {"rmse", "mse"}:
        onehot = np.eye(len(class_labels))[classes]
        mse = float(np.mean(np.sum((onehot - probs) ** 2, axis=1)))
        return float(np.sqrt(mse)) if metric == "rmse" else mse
    if metric in {"auc", "aucpr"}:
        scorer = _auc if metric == "auc" else _aucpr
        if len(class_labels) == 2:
            return scorer(classes == 1, probs[:, 1])
        return float(
            np.mean([scorer(classes == c, probs[:, c]) for c in np.unique(classes)])
        )
    raise MetricUnavailable(f"{metric} is not a classification metric")


def regression_metric(metric: str, truth: np.ndarray, values: np.ndarray) -> float:
    """``metric`` of predicted values against true values (missing truth dropped)."""
    keep = ~np.isnan(truth)
    actual, guess = truth[keep], np.asarray(values, dtype=np.float64)[keep]
    if actual.size == 0:
        raise MetricUnavailable("no holdout row has a target value")
    residual = guess - actual
    if metric in {"mse", "mean_residual_deviance", "deviance"}:
        return float(np.mean(residual**2))
    if metric == "rmse":
        return float(np.sqrt(np.mean(residual**2)))
    if metric == "mae":
        return float(np.mean(np.abs(residual)))
    if metric == "rmsle":
        if np.any(actual <= -1) or np.any(guess <= -1):
            raise MetricUnavailable("rmsle needs values above -1")
        return float(np.sqrt(np.mean((np.log1p(guess) - np.log1p(actual)) ** 2)))
    if metric == "r2":
        total = float(np.sum((actual - actual.mean()) ** 2))
        return 1.0 - float(np.sum(residual**2)) / total if total else 0.0
    raise MetricUnavailable(f"{metric} is not a regression metric")


def metric_for_task(metric: str, task: Task) -> str:
    """Map H2O's generic names (deviance) onto what this module computes."""
    if metric == "mean_residual_deviance" and task != "regression":
        return "logloss"
    return metric


def _auc(positive: np.ndarray, scores: np.ndarray) -> float:
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise MetricUnavailable("AUC needs both classes in the holdout")
    ranks = _average_ranks(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _aucpr(positive: np.ndarray, scores: np.ndarray) -> float:
    n_pos = int(positive.sum())
    if n_pos == 0:
        raise MetricUnavailable("AUCPR needs positive rows in the holdout")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, hits = scores[order], positive[order].astype(np.float64)
    # One point per distinct threshold, ties taken together.
    last_of_group = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    true_pos = np.cumsum(hits)[last_of_group]
    taken = np.arange(1, scores.size + 1)[last_of_group]
    precision = true_pos / taken
    recall = true_pos / n_pos
    recall_step = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_step * precision))


def _average_ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[order] = np.arange(1, scores.size + 1)
    unique, inverse = np.unique(scores, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse] if unique.size < scores.size else ranks
