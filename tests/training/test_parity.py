"""Parity: the runtime's MOJO predictions against the cluster's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h2o
import pytest

from serving.scorer import MojoScorer
from tests.fixtures.training import TrainedModel, h2o_data_file
from training.errors import ParityError
from training.frames import Holdout, read_rows
from training.parity import check_parity


@pytest.fixture(scope="module")
def prostate_in_cluster(h2o_cluster_url: str, trained_model: TrainedModel) -> Any:
    h2o.connect(url=h2o_cluster_url, verbose=False)
    frame = h2o.upload_file(str(h2o_data_file("prostate.csv")))
    frame["CAPSULE"] = frame["CAPSULE"].asfactor()
    return frame


@pytest.fixture(scope="module")
def scorer(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    classes = tmp_path_factory.mktemp("parity-classes")
    with MojoScorer.open(trained_model.model_dir, class_cache_dir=classes) as opened:
        yield opened


def test_mojo_equals_cluster_on_every_prostate_row(
    trained_model: TrainedModel, prostate_in_cluster: Any, scorer: MojoScorer
) -> None:
    leader = h2o.get_model(trained_model.schema.model_id)
    rows = Holdout(columns=read_rows(prostate_in_cluster))

    report = check_parity(leader, prostate_in_cluster, rows, scorer, 1e-9)

    assert report.rows == 380
    assert report.max_abs_difference <= 1e-9


def test_another_models_predictions_fail_parity(
    trained_model: TrainedModel, prostate_in_cluster: Any, scorer: MojoScorer
) -> None:
    other_id = next(
        str(row["model_id"])
        for row in trained_model.schema.leaderboard_top
        if row["model_id"] != trained_model.schema.model_id
    )
    other = h2o.get_model(other_id)
    rows = Holdout(columns=read_rows(prostate_in_cluster))

    with pytest.raises(ParityError, match="differ by up to"):
        check_parity(other, prostate_in_cluster, rows, scorer, 1e-9)


def test_parity_report_keeps_runtime_predictions_for_promotion(
    trained_model: TrainedModel, prostate_in_cluster: Any, scorer: MojoScorer
) -> None:
    leader = h2o.get_model(trained_model.schema.model_id)
    rows = Holdout(columns=read_rows(prostate_in_cluster))

    report = check_parity(leader, prostate_in_cluster, rows, scorer, 1e-9)

    assert report.prediction.probabilities is not None
    assert report.prediction.probabilities.shape == (380, 2)
    assert Path(trained_model.model_dir).is_dir()
