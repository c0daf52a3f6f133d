"""Request rows to columns: FeatureValidator and the JSON parser, no server needed."""

from __future__ import annotations

import math
from typing import Any

import pytest

from serving.errors import InvalidInputError, MalformedBodyError
from serving.validation import (
    SMALL_BATCH_ROWS,
    FeatureValidator,
    example_record,
    parse_json,
)
from tests.fixtures.schemas import age_and_race_schema

GOOD_ROW = {"AGE": 50, "RACE": "1"}
# Small batches are checked in plain Python, bigger ones with numpy: both ways.
PADDINGS = pytest.mark.parametrize(
    "padding", [0, SMALL_BATCH_ROWS], ids=["small-batch", "numpy-batch"]
)


@pytest.fixture(scope="module")
def validator() -> FeatureValidator:
    return FeatureValidator(age_and_race_schema())


@PADDINGS
def test_records_from_well_formed_rows_become_columns_without_warnings(
    validator: FeatureValidator, padding: int
) -> None:
    batch = validator.from_records(
        [{"AGE": 65, "RACE": "1"}, {"AGE": 70.5, "RACE": None}] + [GOOD_ROW] * padding
    )

    assert batch.columns["AGE"].tolist()[:2] == [65.0, 70.5]
    assert batch.columns["RACE"][:2] == ["1", None]
    assert batch.n_rows == 2 + padding
    assert batch.warnings == {}


@PADDINGS
def test_missing_numbers_become_nan_in_either_path(
    validator: FeatureValidator, padding: int
) -> None:
    batch = validator.from_records([{"AGE": None, "RACE": "1"}] + [GOOD_ROW] * padding)

    assert math.isnan(batch.columns["AGE"][0])


def test_numbers_for_a_categorical_feature_become_level_text(
    validator: FeatureValidator,
) -> None:
    batch = validator.from_records([{"AGE": 1, "RACE": 2}, {"AGE": 1, "RACE": 2.0}])

    assert batch.columns["RACE"] == ["2", "2"]


def test_numeric_strings_for_a_numeric_feature_are_read_as_numbers(
    validator: FeatureValidator,
) -> None:
    batch = validator.from_records(
        [{"AGE": " 65.5 ", "RACE": "1"}, {"AGE": "", "RACE": "1"}]
    )

    assert batch.columns["AGE"][0] == 65.5
    assert math.isnan(batch.columns["AGE"][1])


def test_missing_and_extra_fields_give_per_row_warnings(
    validator: FeatureValidator,
) -> None:
    batch = validator.from_records([{"AGE": 60, "RACE": "1"}, {"AGE": 60, "ZIP": "x"}])

    assert 0 not in batch.warnings
    codes = {(w["field"], w["code"]) for w in batch.warnings[1]}
    assert codes == {("RACE", "missing_feature"), ("ZIP", "unknown_field")}
    assert batch.columns["RACE"] == ["1", None]


@pytest.mark.parametrize(
    ("record", "field", "problem"),
    [
        ({"AGE": "old"}, "AGE", "not a number"),
        ({"AGE": True}, "AGE", "got a boolean"),
        ({"AGE": [1]}, "AGE", "got a list"),
        ({"AGE": math.nan}, "AGE", "not a finite number"),
        ({"AGE": math.inf}, "AGE", "not a finite number"),
        ({"AGE": 10**400}, "AGE", "not a finite number"),
        ({"AGE": "NaN"}, "AGE", "not a finite number"),
        ({"RACE": {"level": "1"}}, "RACE", "got an object"),
        ({"RACE": False}, "RACE", "got a boolean"),
    ],
    ids=[
        "text-for-number",
        "boolean-for-number",
        "list-for-number",
        "nan",
        "infinity",
        "number-beyond-float",
        "nan-as-text",
        "object-for-level",
        "boolean-for-level",
    ],
)
@PADDINGS
def test_bad_values_are_refused_naming_row_field_and_expected_form(
    validator: FeatureValidator,
    record: dict[str, Any],
    field: str,
    problem: str,
    padding: int,
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validator.from_records([GOOD_ROW, record] + [GOOD_ROW] * padding)

    detail = caught.value.details[0]
    assert (detail.row, detail.field, detail.problem) == (1, field, problem)
    assert detail.expected
    assert f"Row 1, field {field}" in caught.value.message


@pytest.mark.parametrize(
    "payload",
    [[], 5, "text", None, [1, 2]],
    ids=["empty-list", "number", "string", "null", "list-of-numbers"],
)
def test_bodies_that_are_not_records_are_refused(
    validator: FeatureValidator, payload: Any
) -> None:
    with pytest.raises(InvalidInputError):
        validator.from_records(validator.records(payload))


def test_parse_json_reads_nan_so_validation_can_name_the_field() -> None:
    parsed = parse_json(b'{"AGE": NaN}')

    assert math.isnan(parsed["AGE"])


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"\xff\xfe", b"[" * 100_000],
    ids=["empty", "truncated", "not-utf8", "deeply-nested"],
)
def test_parse_json_refuses_malformed_bodies(body: bytes) -> None:
    with pytest.raises(MalformedBodyError):
        parse_json(body)


def test_example_record_uses_training_statistics(validator: FeatureValidator) -> None:
    assert example_record(validator.schema) == {"AGE": 66.03, "RACE": "1"}


def test_extra_fields_must_still_hold_scalar_values(
    validator: FeatureValidator,
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validator.from_records([{"AGE": 60, "RACE": "1", "notes": {"a": 1}}])

    detail = caught.value.details[0]
    assert (detail.row, detail.field, detail.problem) == (0, "notes", "got an object")
