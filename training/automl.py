"""AutoML on the training frame and the leaderboard it leaves."""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import h2o
import pandas as pd
from h2o.automl import H2OAutoML

from training.config import Settings
from training.data import InputSpec
from training.errors import TrainingError
from training.frames import TrainingFrames

logger = logging.getLogger(__name__)

LEADERBOARD_TOP_ROWS = 10


@dataclass(frozen=True)
class AutoMLResult:
    """The leaderboard (best first) and the metric that orders it."""

    leaderboard: pd.DataFrame
    sort_metric: str
    seconds: float

    @property
    def model_ids(self) -> list[str]:
        """Model ids, best first."""
        return [str(model_id) for model_id in self.leaderboard["model_id"]]

    def top_rows(
        self, count: int = LEADERBOARD_TOP_ROWS
    ) -> list[dict[str, str | float | None]]:
        """The first ``count`` rows as plain values (NaN becomes None)."""
        return [
            {str(key): _plain(value) for key, value in row.items()}
            for row in self.leaderboard.head(count).to_dict(orient="records")
        ]


def run_automl(
    spec: InputSpec, frames: TrainingFrames, settings: Settings
) -> AutoMLResult:
    """Train the AutoML models; the progress bar shows on stdout."""
    automl = H2OAutoML(
        max_models=settings.max_models,
        max_runtime_secs=settings.max_runtime_secs,
        seed=settings.seed,
        sort_metric=settings.sort_metric,
        nfolds=settings.nfolds,
        include_algos=settings.include_algos,
        exclude_algos=settings.exclude_algos,
        verbosity="warn",
    )
    logger.info(
        "AutoML: up to %d models in %d s, %d folds, seed %d",
        settings.max_models,
        settings.max_runtime_secs,
        settings.nfolds,
        settings.seed,
    )
    started = time.monotonic()
    automl.train(x=list(spec.features), y=spec.target, training_frame=frames.train)
    seconds = time.monotonic() - started

    board_frame = h2o.automl.get_leaderboard(automl, extra_columns="ALL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        board: pd.DataFrame = board_frame.as_data_frame()
    if board.empty:
        raise TrainingError(
            "AutoML trained no model; raise --max-runtime-secs or --max-models."
        )
    sort_metric = str(board.columns[1])
    logger.info(
        "AutoML trained %d models in %.0f s; leader %s (%s %.4f)",
        len(board),
        seconds,
        board["model_id"].iloc[0],
        sort_metric,
        board[sort_metric].iloc[0],
    )
    return AutoMLResult(leaderboard=board, sort_metric=sort_metric, seconds=seconds)


def _plain(value: Any) -> str | float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(number) else number
