"""Promotion: if-better keeps a worse model out of production, always lets it in."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.fixtures.training import TrainedModel, TrainingStore, tiny_settings
from training.job import JobResult, run_job

MODEL_NAME = "mojo-promotion"
# Race alone predicts CAPSULE hardly better than a coin.
WEAK_MODEL_IGNORES = ["ID", "AGE", "DPROS", "DCAPS", "PSA", "VOL", "GLEASON"]


@pytest.fixture(scope="module")
def client(training_store: TrainingStore) -> MlflowClient:
    return MlflowClient(
        tracking_uri=training_store.tracking_uri,
        registry_uri=training_store.tracking_uri,
    )


@pytest.fixture(scope="module")
def good_production(trained_model: TrainedModel, client: MlflowClient) -> str:
    """Version 1 of the promotion model: the session's good prostate model."""
    source = client.get_model_version(trained_model.model_name, trained_model.version)
    client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(
        MODEL_NAME, source.source, run_id=trained_model.run_id
    )
    client.set_registered_model_alias(MODEL_NAME, "production", version.version)
    return str(version.version)


def _train_weak(
    store: TrainingStore, tmp_path: Path, h2o_url: str | None, **options: object
) -> JobResult:
    settings = tiny_settings(
        store,
        h2o_url,
        model_name=MODEL_NAME,
        ignore_columns=WEAK_MODEL_IGNORES,
        max_models=1,
        nfolds=0,
        include_algos=["GLM"],
        h2o_memory="1G",
        **options,
    )
    return run_job(settings, tmp_path)


@pytest.fixture(scope="module")
def refused(
    good_production: str,
    training_store: TrainingStore,
    h2o_cluster_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> JobResult:
    """A weak model trained under if-better."""
    return _train_weak(
        training_store,
        tmp_path_factory.mktemp("weak-if-better"),
        h2o_cluster_url,
        promotion="if-better",
    )


def test_if_better_keeps_production_on_the_better_model(
    refused: JobResult, good_production: str, client: MlflowClient
) -> None:
    result = refused

    production = client.get_model_version_by_alias(MODEL_NAME, "production")
    new_version = client.get_model_version(MODEL_NAME, result.version)

    assert not result.decision.promote
    assert str(production.version) == good_production
    assert new_version.aliases == []
    assert result.decision.production_version == good_production


def test_if_better_logs_decision_and_both_scores(
    refused: JobResult, client: MlflowClient
) -> None:
    run = client.get_run(refused.run_id)

    assert run.data.tags["promotion_decision"] == "keep"
    assert run.data.tags["promotion_metric"] == "auc"
    new_score = run.data.metrics["promotion_new_score"]
    production_score = run.data.metrics["promotion_production_score"]
    assert new_score < production_score
    assert production_score > 0.7


def test_always_promotes_a_worse_model_and_sets_extra_aliases(
    refused: JobResult,
    training_store: TrainingStore,
    h2o_cluster_url: str,
    client: MlflowClient,
    tmp_path: Path,
) -> None:
    result = _train_weak(
        training_store,
        tmp_path,
        h2o_cluster_url,
        promotion="always",
        extra_aliases=["challenger"],
    )

    production = client.get_model_version_by_alias(MODEL_NAME, "production")
    challenger = client.get_model_version_by_alias(MODEL_NAME, "challenger")
    assert result.decision.promote
    assert str(production.version) == result.version
    assert str(challenger.version) == result.version
    assert int(result.version) == int(refused.version) + 1
