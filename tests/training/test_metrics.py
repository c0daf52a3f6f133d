"""Metrics computed from runtime predictions, on hand-checked figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.metrics import (
    MetricUnavailable,
    classification_metric,
    is_better_or_equal,
    regression_metric,
)

LABELS = ["0", "1"]


def _binary(metric: str, truth: list[str], p1: list[float]) -> float:
    probabilities = np.column_stack([1 - np.array(p1), np.array(p1)])
    predicted = ["1" if p >= 0.5 else "0" for p in p1]
    return classification_metric(metric, truth, LABELS, probabilities, predicted)


@pytest.mark.parametrize(
    ("p1", "expected"),
    [
        ([0.1, 0.2, 0.8, 0.9], 1.0),
        ([0.9, 0.8, 0.2, 0.1], 0.0),
        ([0.5, 0.5, 0.5, 0.5], 0.5),
        ([0.1, 0.8, 0.2, 0.9], 0.75),
    ],
    ids=["perfect", "reversed", "all-tied", "one-swap"],
)
def test_auc_matches_hand_computed_values(p1: list[float], expected: float) -> None:
    assert _binary("auc", ["0", "0", "1", "1"], p1) == pytest.approx(expected)


def test_logloss_of_confident_right_answers_is_small() -> None:
    assert _binary("logloss", ["0", "1"], [0.1, 0.9]) == pytest.approx(-math.log(0.9))


def test_rows_without_a_label_are_left_out() -> None:
    assert _binary("auc", ["0", "", "1"], [0.1, 0.99, 0.9]) == 1.0


def test_auc_needs_both_classes() -> None:
    with pytest.raises(MetricUnavailable):
        _binary("auc", ["1", "1"], [0.2, 0.9])


def test_regression_metrics_on_known_residuals() -> None:
    truth = np.array([1.0, 2.0, np.nan, 4.0])
    guess = np.array([2.0, 2.0, 9.0, 2.0])

    assert regression_metric("mse", truth, guess) == pytest.approx(5 / 3)
    assert regression_metric("rmse", truth, guess) == pytest.approx(math.sqrt(5 / 3))
    assert regression_metric("mae", truth, guess) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("metric", "candidate", "reference", "expected"),
    [
        ("auc", 0.8, 0.7, True),
        ("auc", 0.7, 0.7, True),
        ("auc", 0.6, 0.7, False),
        ("logloss", 0.4, 0.5, True),
        ("logloss", 0.6, 0.5, False),
        ("rmse", 1.0, 1.0, True),
    ],
    ids=[
        "auc-higher",
        "auc-equal",
        "auc-lower",
        "logloss-lower",
        "logloss-higher",
        "rmse-equal",
    ],
)
def test_better_or_equal_follows_the_metric_direction(
    metric: str, candidate: float, reference: float, expected: bool
) -> None:
    assert is_better_or_equal(metric, candidate, reference) is expected
