"""The UI's HTTP client against a real scorer, a closed port and a hung listener."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from tests.fixtures.training import TrainedModel
from tests.ui.conftest import SCORER_API_KEY
from ui.client import ScorerClient, ScorerRejected, ScorerTimeout, ScorerUnreachable
from ui.config import Settings


@pytest.fixture
def client(scorer_server: Any) -> Iterator[ScorerClient]:
    scorer = ScorerClient(Settings(scorer_url=scorer_server.base_url))
    yield scorer
    scorer.close()


def test_ready_reports_the_registered_version(
    client: ScorerClient, trained_model: TrainedModel
) -> None:
    status = client.ready()

    assert status.is_ready
    assert status.model is not None
    assert status.model.name == trained_model.model_name
    assert status.model.version == trained_model.version


def test_model_info_lists_features_and_classes_of_the_schema(
    client: ScorerClient, trained_model: TrainedModel
) -> None:
    info = client.model_info()

    assert info.task == "binary"
    assert info.feature_names == trained_model.schema.feature_names
    assert info.class_labels == trained_model.schema.class_labels
    assert info.positive_class == trained_model.schema.class_labels[-1]


def test_predict_example_request_returns_label_and_probabilities(
    client: ScorerClient, trained_model: TrainedModel
) -> None:
    example = client.model_info().example_request

    answer = client.predict(example)

    prediction = answer.predictions[0]
    assert answer.model.version == trained_model.version
    assert prediction.label in trained_model.schema.class_labels
    assert prediction.probabilities is not None
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-6)


def test_predict_text_in_numeric_field_raises_rejected_naming_the_field(
    client: ScorerClient, trained_model: TrainedModel
) -> None:
    numeric = next(f for f in trained_model.schema.features if f.kind == "numeric")

    with pytest.raises(ScorerRejected) as caught:
        client.predict({numeric.name: "not a number"})

    assert caught.value.status_code in {400, 422}
    assert numeric.name in caught.value.message
    assert "Troubleshooting" in caught.value.hint


def test_predict_csv_returns_input_columns_and_predictions(
    client: ScorerClient, trained_model: TrainedModel
) -> None:
    holdout = trained_model.holdout.head(25)

    scored_csv = client.predict_csv(holdout.to_csv(index=False).encode(), "h.csv")

    scored = pd.read_csv(io.BytesIO(scored_csv))
    assert len(scored) == 25
    labels = trained_model.schema.class_labels
    assert {"predict", *(f"p_{label}" for label in labels)} <= set(scored.columns)
    assert set(trained_model.schema.feature_names) <= set(scored.columns)


def test_closed_port_raises_unreachable_naming_url_and_fix(
    closed_port_url: str,
) -> None:
    client = ScorerClient(Settings(scorer_url=closed_port_url))

    with pytest.raises(ScorerUnreachable) as caught:
        client.ready()

    assert closed_port_url in caught.value.message
    assert "UI_SCORER_URL" in caught.value.message
    assert "Troubleshooting" in caught.value.hint


def test_hung_scorer_raises_timeout_after_the_status_timeout(
    silent_scorer_url: str,
) -> None:
    client = ScorerClient(Settings(scorer_url=silent_scorer_url, status_timeout_s=0.3))

    with pytest.raises(
        ScorerTimeout, match=r"did not answer the readiness check within 0\.3 s"
    ):
        client.ready()


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8000", "ftp://127.0.0.1"], ids=["no-scheme", "wrong-scheme"]
)
def test_settings_bad_scorer_url_is_rejected_with_example(url: str) -> None:
    with pytest.raises(ValueError, match="UI_SCORER_URL must start with http"):
        Settings(scorer_url=url)


def test_scorer_with_api_key_answers_only_a_client_with_ui_api_key(
    regression_scorer: Any,
) -> None:
    url = regression_scorer.base_url
    without_key = ScorerClient(Settings(scorer_url=url))
    with_key = ScorerClient(Settings(scorer_url=url, api_key=SCORER_API_KEY))
    example = with_key.model_info().example_request

    with pytest.raises(ScorerRejected, match="Set UI_API_KEY") as caught:
        without_key.predict(example)

    assert caught.value.status_code == 401
    assert with_key.predict(example).predictions[0].value is not None
