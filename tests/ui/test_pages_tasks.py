"""Predict, Batch and Model pages for a multiclass and a regression model."""

from __future__ import annotations

import json
from typing import Any

from tests.fixtures.training import TrainedModel
from tests.ui.conftest import SCORER_API_KEY, AppFactory
from tests.ui.elements import chart_specs


def test_every_page_works_for_a_multiclass_model(
    trained_models_by_task: dict[str, TrainedModel],
    start_scorer: Any,
    ui_app: AppFactory,
) -> None:
    model = trained_models_by_task["multiclass"]
    scorer = start_scorer(model_name=model.model_name)
    app = ui_app(scorer.base_url).run()

    _check_predict(app, model)
    _check_batch(app, model)
    _check_model(app, model, "multiclass")


def test_every_page_works_for_a_regression_model_behind_an_api_key(
    trained_models_by_task: dict[str, TrainedModel],
    regression_scorer: Any,
    ui_app: AppFactory,
) -> None:
    model = trained_models_by_task["regression"]
    app = ui_app(regression_scorer.base_url, api_key=SCORER_API_KEY).run()

    _check_predict(app, model)
    _check_batch(app, model)
    _check_model(app, model, "regression")


def _check_predict(app: Any, model: TrainedModel) -> None:
    next(b for b in app.button if b.label == "Predict").click().run()

    assert not app.exception
    answer = app.metric[0]
    if model.schema.is_classifier:
        assert answer.label == "Predicted class"
        assert answer.value.split(" ")[0] in model.schema.class_labels
        [spec] = chart_specs(app)
        for label in model.schema.class_labels:
            assert f'"{label}"' in json.dumps(spec)
    else:
        assert answer.label == f"Predicted {model.schema.target}"
        float(answer.value)
        assert not chart_specs(app)


def _check_batch(app: Any, model: TrainedModel) -> None:
    rows = len(model.holdout)
    app.switch_page("views/batch.py").run()

    csv_bytes = model.holdout.to_csv(index=False).encode()
    app.file_uploader[0].set_value(("holdout.csv", csv_bytes, "text/csv")).run()
    next(b for b in app.button if b.label == f"Score {rows} rows").click().run()

    assert not app.exception
    scored = app.dataframe[-1].value
    assert len(scored) == rows
    probability_columns = {f"p_{label}" for label in model.schema.class_labels}
    assert probability_columns <= set(scored.columns)
    title = (
        "predicted class"
        if model.schema.task == "multiclass"
        else f"predicted {model.schema.target}"
    )
    assert title in json.dumps(chart_specs(app))


def _check_model(app: Any, model: TrainedModel, task: str) -> None:
    app.switch_page("views/model.py").run()

    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Task"] == task
    assert metrics["Version"] == model.version
    assert app.markdown[0].value.count(model.model_name) == 1
