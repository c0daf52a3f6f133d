"""The Predict form, built from the features the scorer's ``GET /model`` lists."""

from __future__ import annotations

import math

import streamlit as st

from ui.schemas import FeatureInfo, FieldValue, ModelInfo

_COLUMNS = 3


def predict_form(model: ModelInfo) -> dict[str, FieldValue] | None:
    """Draw one input per feature; return the record when Predict is pressed."""
    prefix = f"{model.name}:{model.version}"
    values: dict[str, FieldValue] = {}
    with st.form(key=f"predict_form:{prefix}", border=True):
        columns = st.columns(_COLUMNS)
        for index, feature in enumerate(model.features):
            with columns[index % _COLUMNS]:
                values[feature.name] = _feature_input(
                    feature, f"{prefix}:{feature.name}"
                )
        missing = st.multiselect(
            "Leave empty (sent as missing)",
            model.feature_names,
            key=f"{prefix}:missing",
            help="The scorer receives null for these fields, as if the value "
            "were unknown; the model handles missing values itself.",
        )
        submitted = st.form_submit_button(
            "Predict", type="primary", icon=":material/play_arrow:"
        )
    if not submitted:
        return None
    return {name: None if name in missing else value for name, value in values.items()}


def out_of_range_notes(model: ModelInfo, record: dict[str, FieldValue]) -> list[str]:
    """Name the numeric values that lie outside the training range."""
    notes = []
    for feature in model.features:
        value = record.get(feature.name)
        low, high = feature.stats.min, feature.stats.max
        if not isinstance(value, int | float) or low is None or high is None:
            continue
        if not low <= value <= high:
            notes.append(
                f"{feature.name} = {value:g} lies outside the training range "
                f"{low:g} to {high:g}; the model extrapolates there."
            )
    return notes


def _feature_input(feature: FeatureInfo, key: str) -> FieldValue:
    if feature.kind == "categorical":
        return _level_input(feature, key)
    return _number_input(feature, key)


def _number_input(feature: FeatureInfo, key: str) -> float | None:
    stats = feature.stats
    default = (
        stats.mean if stats.mean is not None and math.isfinite(stats.mean) else None
    )
    integral = all(
        bound is not None and float(bound).is_integer()
        for bound in (stats.min, stats.max)
    )
    value: float | None = st.number_input(
        feature.name,
        value=round(default, 4) if default is not None else None,
        step=1.0 if integral else 0.01,
        format="%.2f",
        key=key,
        help=_numeric_help(feature),
    )
    return value


def _level_input(feature: FeatureInfo, key: str) -> str | None:
    levels = feature.levels
    most_frequent = feature.stats.most_frequent
    index = levels.index(most_frequent) if most_frequent in levels else 0
    choice: str | None = st.selectbox(
        feature.name,
        levels,
        index=index if levels else None,
        key=key,
        accept_new_options=True,
        help=f"{len(levels)} levels seen in training; type another to try an "
        f"unknown level. Missing in training: {feature.stats.missing_share:.0%}.",
    )
    return choice


def _numeric_help(feature: FeatureInfo) -> str:
    stats = feature.stats
    parts = []
    if stats.min is not None and stats.max is not None:
        parts.append(f"Training range {stats.min:g} to {stats.max:g}")
    if stats.mean is not None:
        parts.append(f"mean {stats.mean:.4g} (the default)")
    parts.append(f"missing in training: {stats.missing_share:.0%}")
    return "; ".join(parts) + "."
