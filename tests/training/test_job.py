"""The training job's products: registry version, run, artifacts and schema."""

from __future__ import annotations

import hashlib
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from serving.model_schema import ModelSchema, Task
from serving.scorer import MojoScorer
from tests.fixtures.training import TrainedModel, h2o_data_file

PROSTATE = h2o_data_file("prostate.csv")


@pytest.fixture(scope="module")
def client(trained_model: TrainedModel) -> MlflowClient:
    return MlflowClient(
        tracking_uri=trained_model.tracking_uri, registry_uri=trained_model.tracking_uri
    )


def test_registered_version_carries_tags_of_the_model_and_data(
    trained_model: TrainedModel, client: MlflowClient
) -> None:
    version = client.get_model_version(trained_model.model_name, trained_model.version)

    assert version.tags["h2o_version"] == "3.46.0.11"
    assert version.tags["algorithm"] == trained_model.schema.algorithm
    assert version.tags["sort_metric"] == "auc"
    assert (
        version.tags["data_sha256"] == hashlib.sha256(PROSTATE.read_bytes()).hexdigest()
    )
    assert "production" in version.aliases


def test_run_holds_mojo_jar_schema_and_leaderboard(
    trained_model: TrainedModel, client: MlflowClient
) -> None:
    run_id = trained_model.run_id

    mojo_files = {
        Path(item.path).name for item in client.list_artifacts(run_id, "mojo")
    }
    root_files = {item.path for item in client.list_artifacts(run_id)}

    assert mojo_files == {"model.zip", "h2o-genmodel.jar", "model_schema.json"}
    assert {"leaderboard.csv", "leaderboard.html"} <= root_files


def test_run_logs_params_fingerprint_metrics_and_promotion(
    trained_model: TrainedModel, client: MlflowClient
) -> None:
    run = client.get_run(trained_model.run_id)

    assert run.data.params["data_rows"] == "380"
    assert run.data.params["data_columns"] == "9"
    assert run.data.params["target"] == "CAPSULE"
    assert run.data.params["algorithm"] == trained_model.schema.algorithm
    assert run.data.metrics["parity_max_abs_difference"] <= 1e-9
    assert run.data.metrics["parity_rows"] == len(trained_model.holdout)
    assert 0.5 < run.data.metrics["holdout_auc"] <= 1.0
    assert run.data.tags["promotion_decision"] == "promote"


def test_leaderboard_csv_lists_the_chosen_model_first(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    path = mlflow.artifacts.download_artifacts(
        run_id=trained_model.run_id,
        artifact_path="leaderboard.csv",
        dst_path=str(tmp_path),
        tracking_uri=trained_model.tracking_uri,
    )

    board = pd.read_csv(path)

    assert board["model_id"].iloc[0] == trained_model.schema.model_id
    assert list(board.columns[:2]) == ["model_id", "auc"]
    assert trained_model.schema.leaderboard_top[0]["model_id"] == board["model_id"][0]
    assert len(trained_model.schema.leaderboard_top) == min(len(board), 10)


def test_schema_describes_the_prostate_table(trained_model: TrainedModel) -> None:
    data = pd.read_csv(PROSTATE)
    schema = trained_model.schema

    assert schema.feature_names == [
        c for c in data.columns if c not in {"ID", "CAPSULE"}
    ]
    assert schema.task == "binary"
    assert schema.target == "CAPSULE"
    assert schema.class_labels == ["0", "1"]
    assert schema.data_fingerprint.rows == 380
    assert schema.data_fingerprint.columns == 9
    assert {"auc", "logloss"} <= set(schema.holdout_metrics)
    for feature in schema.features:
        column = data[feature.name]
        assert feature.kind == "numeric"
        assert column.min() <= feature.stats.min <= feature.stats.max <= column.max()
        assert feature.stats.min <= feature.stats.mean <= feature.stats.max
        assert feature.stats.missing_share == 0.0


def test_schema_file_in_model_dir_equals_fixture_schema(
    trained_model: TrainedModel,
) -> None:
    assert ModelSchema.read(trained_model.model_dir / "model_schema.json") == (
        trained_model.schema
    )


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_schema_of_iris_models_fits_their_task(
    trained_models_by_task: dict[Task, TrainedModel], task: Task
) -> None:
    model = trained_models_by_task[task]
    iris = pd.read_csv(h2o_data_file("iris.csv"))
    species = sorted(iris["Species"].unique())

    schema = model.schema

    assert schema.task == task
    if task == "multiclass":
        assert schema.class_labels == species
        assert schema.sort_metric in {"logloss", "mean_per_class_error"}
    else:
        assert schema.class_labels == []
        feature = schema.feature("Species")
        assert feature.kind == "categorical"
        assert feature.levels == species
        assert feature.stats.most_frequent in species
        assert str(model.holdout["Species"].dtype) == "string"


def test_registered_pyfunc_scores_like_the_runtime(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    mlflow.set_tracking_uri(trained_model.tracking_uri)
    uri = f"models:/{trained_model.model_name}/{trained_model.version}"
    features = trained_model.holdout[trained_model.schema.feature_names]

    pyfunc = mlflow.pyfunc.load_model(uri, dst_path=str(tmp_path))
    answer = pyfunc.predict(features)
    with MojoScorer.open(
        trained_model.model_dir, class_cache_dir=tmp_path / "classes"
    ) as scorer:
        expected = scorer.score_frame(features)

    assert pyfunc.metadata.signature is not None
    assert pyfunc.metadata.saved_input_example_info is not None
    assert list(answer.columns) == ["predict", "p_0", "p_1"]
    assert answer["predict"].tolist() == expected.labels
    assert expected.probabilities is not None
    np.testing.assert_array_equal(
        answer[["p_0", "p_1"]].to_numpy(), expected.probabilities
    )


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_single_model_runs_log_variable_importance_csv_and_plot(
    trained_models_by_task: dict[Task, TrainedModel], task: Task
) -> None:
    model = trained_models_by_task[task]
    client = MlflowClient(tracking_uri=model.tracking_uri)

    files = {item.path for item in client.list_artifacts(model.run_id)}

    assert model.schema.algorithm == "GLM"
    assert {"variable_importance.csv", "variable_importance.png"} <= files
    variables = {row.variable for row in model.schema.variable_importance}
    assert variables
    assert variables <= set(model.schema.feature_names) | {
        f"{feature.name}.{level}"
        for feature in model.schema.features
        for level in feature.levels
    }
