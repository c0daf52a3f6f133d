"""Batch page: upload a CSV, check it, score it through ``POST /predict/csv``."""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from ui import session
from ui.batch_scoring import ScoredBatch, score_upload
from ui.charts import prediction_chart
from ui.client import ScorerClient, ScorerError
from ui.config import Settings
from ui.schemas import ModelInfo
from ui.status import show_scorer_problem
from ui.uploads import (
    CsvUpload,
    UploadProblem,
    missing_columns_message,
    read_upload,
)

_RESULT_KEY = "batch_result"
_PREVIEW_ROWS = 20


def render() -> None:
    """Draw the upload, its preview, and the scored table once scored."""
    settings = session.settings()
    client = session.scorer_client()
    model = session.load_model_info(client)
    if model is None:
        return

    st.header("Score a CSV file")
    _template_download(model)
    uploaded = st.file_uploader(
        "CSV file with a header row naming the model's features",
        key="batch_upload",
        help=f"Up to {settings.max_upload_mb:g} MB (setting UI_MAX_UPLOAD_MB). "
        "Extra columns, such as the target, are kept and returned.",
    )
    if uploaded is None:
        st.info(
            f"The model reads {len(model.features)} columns: "
            f"{', '.join(model.feature_names)}."
        )
        return
    try:
        upload = read_upload(
            uploaded.name,
            uploaded.getvalue(),
            max_bytes=settings.max_upload_bytes,
            feature_names=model.feature_names,
        )
    except UploadProblem as exc:
        st.error(str(exc), icon=":material/block:")
        return

    if _preview_and_confirm(upload):
        _score(client, settings, upload, uploaded.file_id)
    result = st.session_state.get(_RESULT_KEY)
    if isinstance(result, ScoredBatch) and result.file_id == uploaded.file_id:
        _show_result(model, upload, result)


def _template_download(model: ModelInfo) -> None:
    example = {name: model.example_request.get(name) for name in model.feature_names}
    template = pd.DataFrame([example]).to_csv(index=False).encode("utf-8")
    st.download_button(
        "Template CSV (the model's columns, one example row)",
        template,
        file_name=f"{model.name}-template.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        type="tertiary",
    )


def _preview_and_confirm(upload: CsvUpload) -> bool:
    """Show the first rows; return True when the user asks to score."""
    st.subheader("Preview")
    st.caption(
        f"{upload.name}: {upload.rows} rows, {len(upload.frame.columns)} columns; "
        f"the first {min(_PREVIEW_ROWS, upload.rows)} shown."
    )
    st.dataframe(upload.frame.head(_PREVIEW_ROWS), hide_index=True, width="stretch")
    if upload.missing_features:
        st.warning(missing_columns_message(upload), icon=":material/warning:")
        if not st.checkbox("Score anyway, with those columns missing in every row"):
            return False
    return st.button(
        f"Score {upload.rows} rows", type="primary", icon=":material/play_arrow:"
    )


def _score(
    client: ScorerClient, settings: Settings, upload: CsvUpload, file_id: str
) -> None:
    progress = st.progress(0.0, text=f"Scoring {upload.rows} rows...")

    def report(done: int, total: int) -> None:
        progress.progress(done / total, text=f"Scored chunk {done} of {total}")

    try:
        result = score_upload(
            client,
            upload,
            file_id=file_id,
            rows_per_chunk=settings.batch_chunk_rows,
            on_progress=report,
        )
    except ScorerError as exc:
        progress.empty()
        show_scorer_problem(exc, retry_key="retry_batch")
        return
    progress.progress(1.0, text=f"Scored {upload.rows} rows in {result.seconds:.2f} s")
    st.session_state[_RESULT_KEY] = result


def _show_result(model: ModelInfo, upload: CsvUpload, result: ScoredBatch) -> None:
    scored = pd.read_csv(io.BytesIO(result.csv))
    st.subheader("Scored rows")
    st.caption(
        f"{len(scored)} rows scored in {result.seconds:.2f} s; prediction columns: "
        f"{', '.join(column for column in scored.columns if _is_prediction(column))}."
    )
    st.dataframe(scored, hide_index=True, width="stretch")
    st.altair_chart(prediction_chart(scored, model), width="stretch")
    st.download_button(
        "Download scored CSV",
        result.csv,
        file_name=f"scored-{upload.name}",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )


def _is_prediction(column: str) -> bool:
    return column == "predict" or column.startswith("p_")


render()
