"""The made-up rows a new model generation is warmed up with."""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from serving.warmup import warm_up_columns, warm_up_csv
from tests.fixtures.schemas import age_and_race_schema

SCHEMA = age_and_race_schema()


def test_rows_spread_over_the_training_range_with_missing_and_unseen_values() -> None:
    columns = warm_up_columns(SCHEMA, 2_000)

    ages = np.asarray(columns["AGE"])
    present = ages[~np.isnan(ages)]
    assert len(ages) == 2_000
    assert 0 < np.isnan(ages).sum() < 300
    assert 40 <= present.min() < 45 and 75 < present.max() <= 80
    levels = set(columns["RACE"])
    assert {"0", "1", "2", None} <= levels
    assert len(levels - {"0", "1", "2", None}) == 1  # one unseen level


def test_rows_are_the_same_for_the_same_seed() -> None:
    first = warm_up_columns(SCHEMA, 100, seed=3)
    again = warm_up_columns(SCHEMA, 100, seed=3)
    other = warm_up_columns(SCHEMA, 100, seed=4)

    assert np.array_equal(first["AGE"], again["AGE"], equal_nan=True)
    assert first["RACE"] == again["RACE"]
    assert first["RACE"] != other["RACE"]


def test_csv_holds_the_same_rows_with_empty_fields_for_missing() -> None:
    columns = warm_up_columns(SCHEMA, 50)

    rows = list(csv.reader(io.StringIO(warm_up_csv(SCHEMA, columns, 50).decode())))

    assert rows[0] == ["AGE", "RACE"]
    assert len(rows) == 51
    for index, (age, race) in enumerate(rows[1:]):
        expected_age = columns["AGE"][index]
        assert (age == "" and math.isnan(expected_age)) or float(age) == expected_age
        assert race == (columns["RACE"][index] or "")
