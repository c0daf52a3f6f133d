"""Checks the input file before any cluster starts: columns, target, task, size."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from serving.model_schema import DataFingerprint, Task
from training.config import Settings, demo_data_path
from training.errors import UsageError

logger = logging.getLogger(__name__)

MIN_ROWS = 30
MAX_CLASSES = 1000
DEMO_TARGET = "CAPSULE"
DEMO_IGNORED = ("ID",)
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class InputSpec:
    """The checked input: where it is, what to predict, and from which columns."""

    path: Path
    target: str
    features: tuple[str, ...]
    task: Task
    fingerprint: DataFingerprint


def inspect_input(settings: Settings) -> InputSpec:
    """Read the file once with pandas and refuse anything training cannot use."""
    path, target, ignored = _resolve(settings)
    frame = _read(path)

    _check_columns(frame, path, target, ignored)
    task = _check_task(frame[target], target, settings.task)
    _check_rows(frame, target, settings.holdout_fraction)
    features = tuple(c for c in frame.columns if c != target and c not in ignored)
    fingerprint = DataFingerprint(
        rows=len(frame), columns=len(frame.columns), sha256=file_sha256(path)
    )
    logger.info(
        "Data %s: %d rows, %d columns; target %s (%s), %d features",
        path,
        fingerprint.rows,
        fingerprint.columns,
        target,
        task,
        len(features),
    )
    return InputSpec(path, target, features, task, fingerprint)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_parquet(path: Path) -> bool:
    """True when the file name says Parquet."""
    return path.name.lower().endswith(_PARQUET_SUFFIXES)


def _resolve(settings: Settings) -> tuple[Path, str, frozenset[str]]:
    if settings.data is None:
        target = settings.target or DEMO_TARGET
        ignored = settings.ignore_columns
        return (
            demo_data_path(),
            target,
            frozenset(DEMO_IGNORED if ignored is None else ignored),
        )
    if not settings.target:
        raise UsageError(
            f"No target column given for {settings.data}: pass --target <column>."
        )
    return settings.data, settings.target, frozenset(settings.ignore_columns or ())


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise UsageError(
            f"Data file not found: {path}. Pass --data with an existing CSV or "
            "Parquet file."
        )
    name = path.name.lower()
    if not name.endswith(_CSV_SUFFIXES + _PARQUET_SUFFIXES):
        raise UsageError(
            f"Cannot tell the format of {path}: name it *.csv or *.parquet."
        )
    try:
        if is_parquet(path):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"Cannot read {path}: {reason}.") from exc


def _check_columns(
    frame: pd.DataFrame, path: Path, target: str, ignored: frozenset[str]
) -> None:
    columns = [str(c) for c in frame.columns]
    if target not in columns:
        raise UsageError(
            f"Target column {target!r} is not in {path.name}; columns are: "
            f"{', '.join(columns)}."
        )
    unknown = sorted(ignored - set(columns))
    if unknown:
        raise UsageError(
            f"Ignored column(s) {', '.join(map(repr, unknown))} not in {path.name};"
            f" columns are: {', '.join(columns)}."
        )
    if target in ignored:
        raise UsageError(f"Target column {target!r} is also in --ignore-columns.")
    if len(columns) - len(ignored) < 2:
        raise UsageError(
            f"No feature columns left in {path.name} after ignoring "
            f"{', '.join(sorted(ignored))}."
        )


def _check_task(target: pd.Series, name: str, requested: str) -> Task:
    values = target.dropna()
    distinct = values.nunique()
    if distinct < 2:
        only = repr(str(values.iloc[0])) if len(values) else "none (all missing)"
        raise UsageError(
            f"Target column {name!r} has a single value: {only}. Nothing to learn; "
            "choose a target with at least two values."
        )
    numeric = pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(
        target
    )
    if requested == "auto":
        if distinct == 2:
            return "binary"
        return "regression" if numeric else "multiclass"
    if requested == "binary" and distinct != 2:
        raise UsageError(
            f"--task binary needs a target with exactly 2 values; {name!r} has "
            f"{distinct}. Use --task multiclass or regression, or --task auto."
        )
    if requested == "multiclass" and not 3 <= distinct <= MAX_CLASSES:
        raise UsageError(
            f"--task multiclass needs 3 to {MAX_CLASSES} distinct target values; "
            f"{name!r} has {distinct}. Use --task binary or regression, or auto."
        )
    if requested == "regression" and not numeric:
        raise UsageError(
            f"--task regression needs a numeric target; {name!r} holds text such "
            f"as {str(values.iloc[0])!r}. Use --task binary or multiclass."
        )
    task: Task = requested  # type: ignore[assignment]
    return task


def _check_rows(frame: pd.DataFrame, target: str, holdout_fraction: float) -> None:
    usable = int(frame[target].notna().sum())
    if usable < MIN_ROWS:
        raise UsageError(
            f"Too few rows: {usable} with a target value, at least {MIN_ROWS} "
            "are needed to train and keep a holdout."
        )
    if usable * holdout_fraction < 5:
        raise UsageError(
            f"Holdout too small: {holdout_fraction} of {usable} rows is under 5 "
            "rows; raise --holdout-fraction."
        )
