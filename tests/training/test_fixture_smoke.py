"""The shared training fixtures produce registered, loadable models."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from serving.model_schema import Task
from tests.fixtures.training import TrainedModel
from training.cluster import check_cluster_answers


def test_trained_model_holds_production_alias(trained_model: TrainedModel) -> None:
    client = MlflowClient(tracking_uri=trained_model.tracking_uri)

    version = client.get_model_version_by_alias(trained_model.model_name, "production")

    assert str(version.version) == trained_model.version
    assert version.run_id == trained_model.run_id
    assert (trained_model.model_dir / "model.zip").is_file()
    assert list(trained_model.holdout.columns) == [
        *trained_model.schema.feature_names,
        trained_model.schema.target,
    ]


def test_models_by_task_each_have_their_own_name_and_task(
    trained_models_by_task: dict[Task, TrainedModel],
) -> None:
    client = MlflowClient(tracking_uri=trained_models_by_task["binary"].tracking_uri)

    names = {model.model_name for model in trained_models_by_task.values()}

    assert len(names) == 3
    for task, model in trained_models_by_task.items():
        assert model.schema.task == task
        alias = client.get_model_version_by_alias(model.model_name, "production")
        assert str(alias.version) == model.version


def test_joined_cluster_keeps_running_after_the_job(
    trained_model: TrainedModel, h2o_cluster_url: str
) -> None:
    check_cluster_answers(h2o_cluster_url)
