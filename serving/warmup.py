"""Made-up rows that warm a new model's JVM up before it serves.

The scorer's JVM compiles hot code in the foreground (``-Xbatch``, see
:mod:`serving.jvm`): with background compilation, the same 10k-row batch
settled at 8 ms in one JVM and 12 ms in the next, depending on when the
compiler ran. Compiling in the foreground gives the fast code every time, but
the first calls pay for it, so a generation scores these rows through every
path it serves (JSON rows, float results, CSV, single rows) before it takes
requests. The rows spread over each feature's training range, with missing
values and unseen levels, so the compiled code has seen the branches real
rows take.
"""

from __future__ import annotations

import csv
import io
import random

import numpy as np

from serving.model_schema import Feature, ModelSchema
from serving.validation import Columns

# An unseen level: genmodel scores it as missing, a branch real traffic takes.
_UNSEEN_LEVEL = "__warm-up__"
_MISSING_SHARE = 0.05


def warm_up_columns(schema: ModelSchema, rows: int, seed: int = 0) -> Columns:
    """``rows`` made-up rows in the scorer's column form, reproducible by seed."""
    generator = random.Random(seed)  # noqa: S311 (made-up rows, not secrets)
    columns: Columns = {}
    for feature in schema.features:
        if feature.kind == "numeric":
            columns[feature.name] = np.array(
                [_number(feature, generator) for _ in range(rows)], dtype=np.float64
            )
        else:
            columns[feature.name] = [_level(feature, generator) for _ in range(rows)]
    return columns


def warm_up_csv(schema: ModelSchema, columns: Columns, rows: int) -> bytes:
    """The same rows as a CSV document with a header (empty field = missing)."""
    names = schema.feature_names
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(names)
    for row in range(rows):
        writer.writerow([_csv_field(columns[name][row]) for name in names])
    return text.getvalue().encode("utf-8")


def _number(feature: Feature, generator: random.Random) -> float:
    if generator.random() < _MISSING_SHARE:
        return float("nan")
    low = feature.stats.min if feature.stats.min is not None else 0.0
    high = feature.stats.max if feature.stats.max is not None else low + 1.0
    return generator.uniform(low, high)


def _level(feature: Feature, generator: random.Random) -> str | None:
    draw = generator.random()
    if draw < _MISSING_SHARE or not feature.levels:
        return None
    if draw < 2 * _MISSING_SHARE:
        return _UNSEEN_LEVEL
    return generator.choice(feature.levels)


def _csv_field(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)
