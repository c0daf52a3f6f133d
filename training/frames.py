"""The data inside H2O: parsed by H2O itself, split in H2O, read back as text."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import h2o
import pandas as pd

from serving.model_schema import ModelSchema
from training.data import InputSpec
from training.errors import UsageError

logger = logging.getLogger(__name__)

Cell = str | None
# Read as missing in every column, as pandas does; H2O alone keeps "NA" as a
# category level in text columns.
MISSING_MARKERS = ("", "NA", "N/A", "NaN", "nan", "NULL", "null")


@dataclass(frozen=True)
class Holdout:
    """Holdout rows as H2O wrote them: text cells, ``None`` for missing."""

    columns: dict[str, list[Cell]]

    @property
    def n_rows(self) -> int:
        """Number of holdout rows."""
        return len(next(iter(self.columns.values()), []))

    def feature_columns(
        self, schema: ModelSchema
    ) -> dict[str, list[float | str | None]]:
        """Columns typed as ``schema`` expects them; absent features left out."""
        typed: dict[str, list[float | str | None]] = {}
        for feature in schema.features:
            cells = self.columns.get(feature.name)
            if cells is None:
                continue
            if feature.kind == "numeric":
                typed[feature.name] = [_number(cell) for cell in cells]
            else:
                typed[feature.name] = list(cells)
        return typed

    def target_cells(self, target: str) -> list[Cell]:
        """The target column's cells, as text."""
        return self.columns[target]

    def to_pandas(self, schema: ModelSchema) -> pd.DataFrame:
        """Features and target as a DataFrame: floats for numbers, strings otherwise."""
        data: dict[str, Any] = {}
        for name, cells in self.feature_columns(schema).items():
            kind = schema.feature(name).kind
            data[name] = pd.Series(
                cells, dtype="float64" if kind == "numeric" else "string"
            )
        target = self.columns[schema.target]
        data[schema.target] = (
            pd.Series([_number(cell) for cell in target], dtype="float64")
            if schema.task == "regression"
            else pd.Series(target, dtype="string")
        )
        return pd.DataFrame(data)


@dataclass(frozen=True)
class TrainingFrames:
    """The H2O frames of one job (``Any``: h2o ships no type hints)."""

    train: Any
    holdout: Any


def load_frames(spec: InputSpec, holdout_fraction: float, seed: int) -> TrainingFrames:
    """Upload the file to H2O, type the target for the task and split off a holdout."""
    frame = h2o.upload_file(str(spec.path), na_strings=list(MISSING_MARKERS))
    target = frame[spec.target]
    if spec.task == "regression":
        if target.isfactor()[0] or target.isstring()[0]:
            raise UsageError(
                f"H2O reads target {spec.target!r} as text, not numbers; clean the "
                "column or choose --task binary or multiclass."
            )
    else:
        frame[spec.target] = target.asfactor()
    frame = frame[frame[spec.target].isna().logical_negation(), :]
    train, holdout = frame.split_frame([1.0 - holdout_fraction], seed=seed)
    logger.info("Split %d training rows, %d holdout rows", train.nrows, holdout.nrows)
    if holdout.nrows == 0 or train.nrows == 0:
        raise UsageError(
            f"The split left an empty part ({train.nrows} training, {holdout.nrows} "
            "holdout rows); change --holdout-fraction."
        )
    return TrainingFrames(train=train, holdout=holdout)


def read_rows(frame: Any) -> dict[str, list[Cell]]:
    """Download a frame as text cells per column (H2O writes doubles in full)."""
    with warnings.catch_warnings():
        # h2o warns that it converts on one thread; the frames here are small.
        warnings.simplefilter("ignore")
        rows: list[list[str]] = frame.as_data_frame(use_pandas=False, header=True)
    header, body = rows[0], rows[1:]
    return {
        name: [_cell(row[index]) for row in body] for index, name in enumerate(header)
    }


def read_holdout(frames: TrainingFrames) -> Holdout:
    """The holdout rows as text cells, every column of the file."""
    return Holdout(columns=read_rows(frames.holdout))


def _cell(text: str) -> Cell:
    return None if text == "" else text


def _number(cell: Cell) -> float | None:
    if cell is None:
        return None
    try:
        return float(cell)
    except ValueError:
        return None
