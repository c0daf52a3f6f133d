"""Model page: what the scorer serves and how it was chosen."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from ui import session
from ui.charts import importance_chart
from ui.schemas import ModelInfo

_METRICS_PER_ROW = 4


def render() -> None:
    """Draw the model's identity, metrics, leaderboard and variable importance."""
    client = session.scorer_client()
    model = session.load_model_info(client)
    if model is None:
        return

    st.header(f"Model {model.name}")
    identity = {
        "Version": model.version or "-",
        "Alias": f"@{model.alias}" if model.alias else "-",
        "Algorithm": model.algorithm or "-",
        "Task": model.task,
    }
    for column, (label, value) in zip(
        st.columns(len(identity)), identity.items(), strict=True
    ):
        column.metric(label, value)
    st.caption(
        f"Target **{model.target}** · {len(model.features)} features · loaded from "
        f"{model.source or 'unknown'} at {model.loaded_at or 'unknown time'} · "
        f"MLflow run `{model.run_id or '-'}`"
        + (f" · classes {', '.join(model.class_labels)}" if model.class_labels else "")
    )
    _metrics(model)
    _leaderboard(model)
    _importance(model)
    _features(model)
    _example_request(model, client.base_url)


def _metrics(model: ModelInfo) -> None:
    st.subheader("Holdout metrics")
    metrics = {
        name: value
        for name, value in model.holdout_metrics.items()
        if value is not None
    }
    if not metrics:
        st.info("The scorer reports no holdout metrics for this model.")
        return
    items = list(metrics.items())
    for start in range(0, len(items), _METRICS_PER_ROW):
        row = items[start : start + _METRICS_PER_ROW]
        for column, (name, value) in zip(
            st.columns(_METRICS_PER_ROW), row, strict=False
        ):
            column.metric(name, f"{value:.4g}")
    if model.sort_metric:
        st.caption(f"AutoML ranked its models by **{model.sort_metric}**.")


def _leaderboard(model: ModelInfo) -> None:
    st.subheader("Leaderboard (top rows)")
    if not model.leaderboard_top:
        st.info("The scorer reports no leaderboard for this model.")
        return
    st.dataframe(pd.DataFrame(model.leaderboard_top), hide_index=True, width="stretch")


def _importance(model: ModelInfo) -> None:
    st.subheader("Variable importance")
    if not model.variable_importance:
        st.info(
            "The scorer reports no variable importance for this model (H2O has "
            "none for some algorithms, such as stacked ensembles)."
        )
        return
    st.altair_chart(importance_chart(model.variable_importance), width="stretch")


def _features(model: ModelInfo) -> None:
    st.subheader("Features")
    rows = [
        {
            "feature": feature.name,
            "kind": feature.kind,
            "levels": ", ".join(feature.levels[:8])
            + (" ..." if len(feature.levels) > 8 else ""),
            "min": feature.stats.min,
            "mean": feature.stats.mean,
            "max": feature.stats.max,
            "missing share": feature.stats.missing_share,
        }
        for feature in model.features
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "missing share": st.column_config.NumberColumn(format="percent")
        },
    )


def _example_request(model: ModelInfo, base_url: str) -> None:
    if not model.example_request:
        return
    with st.expander("Try it from a shell"):
        body = json.dumps(model.example_request)
        st.code(
            f"curl -s -X POST {base_url}/predict \\\n"
            f"  -H 'Content-Type: application/json' \\\n  -d '{body}'",
            language="bash",
        )


render()
