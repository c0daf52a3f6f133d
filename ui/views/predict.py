"""Predict page: one record in the form, one answer from the scorer."""

from __future__ import annotations

import streamlit as st

from ui import session
from ui.charts import probability_chart
from ui.client import ScorerError
from ui.forms import out_of_range_notes, predict_form
from ui.schemas import FieldValue, ModelInfo, PredictResponse
from ui.status import show_scorer_problem

_ANSWER_KEY = "predict_answer"


def render() -> None:
    """Draw the form and the latest answer."""
    client = session.scorer_client()
    model = session.load_model_info(client)
    if model is None:
        return

    st.header("Predict one record")
    st.caption(
        f"A {model.task} model predicting **{model.target}**. Each field starts at "
        "the training mean or the most frequent level; hover the (?) for the "
        "training range."
    )
    form_column, answer_column = st.columns([3, 2], gap="large")
    with form_column:
        record = predict_form(model)
    if record is not None:
        try:
            answer = client.predict(record)
        except ScorerError as exc:
            with answer_column:
                show_scorer_problem(exc, retry_key="retry_predict")
            return
        st.session_state[_ANSWER_KEY] = (record, answer)

    last = st.session_state.get(_ANSWER_KEY)
    with answer_column:
        if last is None:
            st.info("Press **Predict** to score the values in the form.")
        else:
            _show_answer(model, *last)


def _show_answer(
    model: ModelInfo, record: dict[str, FieldValue], answer: PredictResponse
) -> None:
    prediction = answer.predictions[0]
    st.subheader("Answer")
    if prediction.value is not None:
        st.metric(f"Predicted {model.target or 'value'}", f"{prediction.value:.4g}")
    else:
        chosen = (prediction.probabilities or {}).get(prediction.label or "")
        share = f" ({chosen:.1%})" if chosen is not None else ""
        st.metric("Predicted class", f"{prediction.label}{share}")
    if prediction.probabilities:
        st.altair_chart(
            probability_chart(
                prediction.probabilities, model.class_labels, prediction.label
            ),
            width="stretch",
        )
    st.caption(
        f"Answered by **{answer.model.describe()}**"
        + (f" · {answer.model.algorithm}" if answer.model.algorithm else "")
    )
    if answer.model.version != model.version:
        st.info(
            f"The scorer now serves version {answer.model.version}; the form was "
            f"built for version {model.version}. Reload the page to refresh it."
        )
    for warning in prediction.warnings:
        field = f"**{warning.field}**: " if warning.field else ""
        st.warning(
            f"{field}{warning.message} ({warning.code})", icon=":material/warning:"
        )
    for note in out_of_range_notes(model, record):
        st.info(note, icon=":material/info:")
    with st.expander("Request sent to POST /predict"):
        st.json(record)


render()
