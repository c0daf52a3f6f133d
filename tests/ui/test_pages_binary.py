"""Each page under AppTest against a real scorer serving the binary model."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.fixtures.training import TrainedModel
from tests.ui.conftest import AppFactory
from tests.ui.elements import chart_data, chart_specs, page_text, texts


@pytest.fixture
def app(ui_app: AppFactory, scorer_server: Any) -> AppTest:
    return ui_app(scorer_server.base_url).run()


def _button(app: AppTest, label_start: str) -> Any:
    return next(b for b in app.button if b.label.startswith(label_start))


def test_status_line_shows_ready_scorer_and_model_version(
    app: AppTest, trained_model: TrainedModel
) -> None:
    status = app.markdown[0].value

    assert not app.exception
    assert "Scorer ready" in status
    assert f"{trained_model.model_name} version {trained_model.version}" in status


def test_predict_form_has_one_input_per_feature_with_training_defaults(
    app: AppTest, trained_model: TrainedModel
) -> None:
    numbers = {widget.label: widget for widget in app.number_input}
    selects = {widget.label: widget for widget in app.selectbox}

    for feature in trained_model.schema.features:
        if feature.kind == "numeric":
            number = numbers[feature.name]
            assert number.value == pytest.approx(feature.stats.mean, abs=1e-4)
            low, high = feature.stats.min, feature.stats.max
            assert f"Training range {low:g} to {high:g}" in number.help
        else:
            assert list(selects[feature.name].options) == feature.levels
            assert selects[feature.name].value == feature.stats.most_frequent
    assert len(numbers) + len(selects) == len(trained_model.schema.features)


def test_predict_submit_shows_the_scorers_answer_chart_and_version(
    app: AppTest, scorer_server: Any, trained_model: TrainedModel
) -> None:
    _button(app, "Predict").click().run()

    assert not app.exception
    sent = json.loads(app.json[0].value)
    direct = httpx.post(f"{scorer_server.base_url}/predict", json=sent).json()
    expected = direct["predictions"][0]
    assert app.metric[0].value.startswith(expected["label"])
    assert f"{expected['probabilities'][expected['label']]:.1%}" in app.metric[0].value
    assert f"version {trained_model.version}" in texts(app.caption)
    [bars] = chart_data(app)
    shown = dict(zip(bars["class"], bars["probability"], strict=True))
    assert shown == pytest.approx(expected["probabilities"])


def test_predict_fields_left_empty_are_sent_as_null(
    app: AppTest, trained_model: TrainedModel
) -> None:
    chosen = trained_model.schema.feature_names[:2]

    app.multiselect[0].set_value(chosen)
    _button(app, "Predict").click().run()

    assert not app.exception
    sent = json.loads(app.json[0].value)
    assert [sent[name] for name in chosen] == [None, None]
    assert app.metric[0].label == "Predicted class"


def test_predict_value_outside_training_range_gets_a_note(
    app: AppTest, trained_model: TrainedModel
) -> None:
    numeric = next(f for f in trained_model.schema.features if f.kind == "numeric")
    too_high = (numeric.stats.max or 0.0) + 1000.0

    next(w for w in app.number_input if w.label == numeric.name).set_value(too_high)
    _button(app, "Predict").click().run()

    assert f"{numeric.name} = {too_high:g} lies outside the training range" in texts(
        app.info
    )


def test_batch_scores_uploaded_csv_in_chunks_like_the_scorer_does(
    ui_app: AppFactory, scorer_server: Any, trained_model: TrainedModel
) -> None:
    csv_bytes = trained_model.holdout.to_csv(index=False).encode()
    rows = len(trained_model.holdout)
    app = ui_app(scorer_server.base_url, batch_chunk_rows="25").run()
    app.switch_page("views/batch.py").run()

    app.file_uploader[0].set_value(("holdout.csv", csv_bytes, "text/csv")).run()
    _button(app, f"Score {rows} rows").click().run()

    assert not app.exception
    scored = app.dataframe[-1].value
    direct = pd.read_csv(
        io.BytesIO(
            httpx.post(
                f"{scorer_server.base_url}/predict/csv",
                files={"file": ("holdout.csv", csv_bytes, "text/csv")},
            ).content
        )
    )
    pd.testing.assert_frame_equal(scored, direct)
    positive = trained_model.schema.class_labels[-1]
    assert f"probability of class {positive}" in json.dumps(chart_specs(app))
    assert "Download scored CSV" in [b.label for b in app.download_button]
    assert app.get("progress")[0].text.startswith(f"Scored {rows} rows in")


def test_batch_result_stays_on_screen_after_a_rerun(
    app: AppTest, trained_model: TrainedModel
) -> None:
    csv_bytes = trained_model.holdout.head(30).to_csv(index=False).encode()
    app.switch_page("views/batch.py").run()
    app.file_uploader[0].set_value(("h.csv", csv_bytes, "text/csv")).run()
    _button(app, "Score 30 rows").click().run()

    app.run()

    assert "30 rows scored in" in texts(app.caption)
    assert len(app.dataframe[-1].value) == 30


@pytest.mark.parametrize(
    ("file_name", "content", "expected"),
    [
        ("notes.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a CSV file"),
        ("empty.csv", b"", "is empty"),
        ("other.csv", b"city,population\nParis,2100000\n", "none of the model's"),
    ],
    ids=["binary-file", "empty-file", "unrelated-columns"],
)
def test_batch_bad_file_is_explained_and_never_offered_for_scoring(
    app: AppTest, file_name: str, content: bytes, expected: str
) -> None:
    app.switch_page("views/batch.py").run()

    app.file_uploader[0].set_value((file_name, content, "text/csv")).run()

    assert not app.exception
    assert expected in texts(app.error)
    assert file_name in texts(app.error)
    assert not [b for b in app.button if b.label.startswith("Score")]


def test_batch_file_too_large_names_the_limit(
    ui_app: AppFactory, scorer_server: Any, trained_model: TrainedModel
) -> None:
    app = ui_app(scorer_server.base_url, max_upload_mb="0.001").run()
    app.switch_page("views/batch.py").run()

    csv_bytes = trained_model.holdout.to_csv(index=False).encode()
    app.file_uploader[0].set_value(("holdout.csv", csv_bytes, "text/csv")).run()

    assert "the limit is 0.0 MB (setting UI_MAX_UPLOAD_MB)" in texts(app.error)


def test_batch_missing_feature_columns_need_confirmation(
    app: AppTest, trained_model: TrainedModel
) -> None:
    dropped = trained_model.schema.feature_names[0]
    partial = trained_model.holdout.drop(columns=[dropped]).head(10)
    app.switch_page("views/batch.py").run()

    app.file_uploader[0].set_value(
        ("partial.csv", partial.to_csv(index=False).encode(), "text/csv")
    ).run()

    assert f"lacks the feature column(s) {dropped}" in texts(app.warning)
    assert not [b for b in app.button if b.label.startswith("Score")]
    app.checkbox[0].check().run()
    _button(app, "Score 10 rows").click().run()
    assert len(app.dataframe[-1].value) == 10


def test_model_page_shows_identity_metrics_and_leaderboard(
    app: AppTest, trained_model: TrainedModel
) -> None:
    app.switch_page("views/model.py").run()

    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Version"] == trained_model.version
    assert metrics["Alias"] == "@production"
    assert metrics["Algorithm"] == trained_model.schema.algorithm
    for name in trained_model.schema.holdout_metrics:
        assert name in metrics
    leaderboard = app.dataframe[0].value
    assert len(leaderboard) == len(trained_model.schema.leaderboard_top)
    text = page_text(app)
    if trained_model.schema.variable_importance:
        top = max(
            trained_model.schema.variable_importance,
            key=lambda item: item.scaled_importance,
        )
        [importance] = chart_data(app)
        assert importance["variable"].iloc[0] == top.variable
    else:
        assert "no variable importance" in text
