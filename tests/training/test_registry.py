"""Registration is all or nothing: a failing block removes its version."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from tests.fixtures.training import TrainedModel, TrainingStore, tiny_settings
from training.registry import open_store, registered_version, set_aliases

MODEL_NAME = "mojo-atomic"


@pytest.mark.parametrize(
    "failure",
    [RuntimeError("alias call failed"), KeyboardInterrupt()],
    ids=["error", "ctrl-c"],
)
def test_failure_inside_registration_deletes_the_new_version(
    failure: BaseException, trained_model: TrainedModel, training_store: TrainingStore
) -> None:
    store = open_store(tiny_settings(training_store, None))
    client = MlflowClient(tracking_uri=training_store.tracking_uri)
    source = client.get_model_version(trained_model.model_name, trained_model.version)

    with (
        pytest.raises(type(failure)),
        registered_version(
            store, MODEL_NAME, source.source, trained_model.run_id, {"test": "yes"}
        ) as version,
    ):
        set_aliases(store, MODEL_NAME, version, ["half-made"])
        raise failure

    assert client.search_model_versions(f"name='{MODEL_NAME}'") == []
