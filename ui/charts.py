"""Altair charts of predictions and of the model's variable importance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from ui.schemas import ModelInfo, VariableImportance

_TOP_VARIABLES = 15
_HIGHLIGHT = "#1f77b4"
_MUTED = "#aec7e8"

Chart = alt.Chart | alt.LayerChart


def probability_chart(
    probabilities: Mapping[str, float],
    class_labels: Sequence[str],
    predicted: str | None = None,
) -> Chart:
    """Horizontal bars of class probabilities, the predicted class highlighted."""
    order = [label for label in class_labels if label in probabilities] or list(
        probabilities
    )
    frame = pd.DataFrame(
        {
            "class": order,
            "probability": [probabilities[label] for label in order],
            "predicted": [label == predicted for label in order],
        }
    )
    base = alt.Chart(frame).encode(
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), title="probability"),
        y=alt.Y("class:N", sort=order, title="class"),
        tooltip=["class", alt.Tooltip("probability:Q", format=".3f")],
    )
    labels = base.mark_text(align="left", dx=4).encode(
        text=alt.Text("probability:Q", format=".1%")
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "predicted:N",
            scale=alt.Scale(domain=[True, False], range=[_HIGHLIGHT, _MUTED]),
            legend=None,
        )
    )
    chart: alt.LayerChart = alt.LayerChart(layer=[bars, labels]).properties(
        height=alt.Step(32)
    )
    return chart


def prediction_chart(scored: pd.DataFrame, model: ModelInfo) -> Chart:
    """Distribution of a scored batch: positive-class probability, labels or values."""
    positive = model.positive_class
    if positive is not None and f"p_{positive}" in scored.columns:
        column = f"p_{positive}"
        return _histogram(scored, column, f"probability of class {positive}")
    if model.task == "multiclass":
        counts: alt.Chart = (
            alt.Chart(scored.astype({"predict": str}))
            .mark_bar()
            .encode(
                x=alt.X("predict:N", title="predicted class"),
                y=alt.Y("count():Q", title="rows"),
            )
        )
        return counts
    return _histogram(scored, "predict", f"predicted {model.target or 'value'}")


def importance_chart(importances: Sequence[VariableImportance]) -> Chart:
    """Bars of scaled importance for the most important variables."""
    top = sorted(importances, key=lambda item: item.scaled_importance, reverse=True)
    frame = pd.DataFrame(
        {
            "variable": [item.variable for item in top[:_TOP_VARIABLES]],
            "scaled_importance": [
                item.scaled_importance for item in top[:_TOP_VARIABLES]
            ],
            "percentage": [item.percentage for item in top[:_TOP_VARIABLES]],
        }
    )
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("scaled_importance:Q", title="scaled importance"),
            y=alt.Y("variable:N", sort="-x", title=None),
            tooltip=[
                "variable",
                alt.Tooltip("scaled_importance:Q", format=".3f"),
                alt.Tooltip("percentage:Q", format=".1%"),
            ],
        )
        .properties(height=alt.Step(24))
    )
    return chart


def _histogram(frame: pd.DataFrame, column: str, title: str) -> Chart:
    values = pd.DataFrame({"x": pd.to_numeric(frame[column], errors="coerce")})
    chart: alt.Chart = (
        alt.Chart(values)
        .mark_bar()
        .encode(
            x=alt.X("x:Q", bin=alt.Bin(maxbins=30), title=title),
            y=alt.Y("count():Q", title="rows"),
        )
    )
    return chart
