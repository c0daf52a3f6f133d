"""Request rows to scorer columns: checked column by column, warnings per row.

The checks run once per column over plain lists (a set of the value types,
then a vectorised finiteness test), so a 10k-row batch costs a few
milliseconds; the slow per-value path runs only for columns that need
conversion or hold a bad value. A small batch (a single row, most often) is
checked in plain Python instead: numpy's cost per call would be most of it.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any, TypeAlias, cast

import numpy as np
import numpy.typing as npt
import orjson

from serving.errors import (
    ErrorDetail,
    InvalidInputError,
    MalformedBodyError,
    PayloadTooLargeError,
)
from serving.model_schema import ModelSchema

ColumnValue = float | int | str | None
RawColumns = dict[str, list[ColumnValue]]
# Numeric features as float64 arrays (NaN = missing): numpy arrays, or array("d")
# for small batches; categorical ones as lists.
NumericColumn: TypeAlias = "npt.NDArray[np.float64] | array[float]"
ColumnData: TypeAlias = "NumericColumn | list[str | None]"
Columns = dict[str, ColumnData]
RowWarnings = dict[int, list[dict[str, str]]]

# Past this many located problems an error lists no more: enough to fix the input.
MAX_DETAILS = 20
# Up to this many rows, plain Python checks numbers faster than numpy does.
SMALL_BATCH_ROWS = 64
# A row may carry unknown fields (they become warnings), but not without bound:
# 100k extra keys would cost seconds of CPU and an answer larger than the request.
MIN_FIELD_LIMIT = 1_000
_NONE_TYPE = type(None)
_NUMERIC_OK = frozenset({int, float, _NONE_TYPE})
_CATEGORICAL_OK = frozenset({str, _NONE_TYPE})
_SCALAR_TYPES = frozenset({int, float, str, _NONE_TYPE})
_EXPECTED_NUMBER = "a finite number or null"
_EXPECTED_LEVEL = "a string level, a number, or null"


@dataclass
class Batch:
    """Validated columns in the model's feature order, plus per-row warnings."""

    columns: Columns
    n_rows: int
    warnings: RowWarnings = field(default_factory=dict)

    def add_warning(self, row: int, field_name: str, code: str, message: str) -> None:
        """Attach one warning to one row."""
        entry = {"field": field_name, "code": code, "message": message}
        self.warnings.setdefault(row, []).append(entry)


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; NaN and Infinity parse (and fail validation later)."""
    if not body.strip():
        raise MalformedBodyError(
            "The request body is empty; send a JSON record or list."
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as fast_error:
        # orjson refuses NaN, Infinity and numbers beyond float range; the
        # standard parser reads them, so they get a 422 naming the row and field.
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise MalformedBodyError(
                f"The request body is not valid JSON: {fast_error}."
            ) from fast_error


class FeatureValidator:
    """Turns request rows into the columns ``MojoScorer.score_columns`` takes."""

    def __init__(self, schema: ModelSchema) -> None:
        self.schema = schema
        self.feature_names = schema.feature_names
        self._feature_set = frozenset(self.feature_names)
        self._row_values = itemgetter(*self.feature_names)
        self._numeric = {f.name for f in schema.features if f.kind == "numeric"}
        self._numeric_order = [
            name for name in self.feature_names if name in self._numeric
        ]
        self._levels = {f.name: frozenset(f.levels) for f in schema.features}
        self.max_fields = max(MIN_FIELD_LIMIT, 2 * len(self.feature_names))

    def check_width(self, fields: int, row: int | None = None) -> None:
        """413 when a row or header holds far more fields than the model has."""
        if fields <= self.max_fields:
            return
        where = "The header" if row is None else f"Row {row}"
        raise PayloadTooLargeError(
            f"{where} holds {fields} fields; this model takes "
            f"{len(self.feature_names)} features and a row may hold at most "
            f"{self.max_fields}. Send only the model's features.",
            [
                ErrorDetail(
                    row=row,
                    problem=f"{fields} fields",
                    expected=f"at most {self.max_fields} fields",
                )
            ],
        )

    def records(self, payload: Any) -> list[Any]:
        """Accept one record (an object) or a non-empty list of records."""
        if isinstance(payload, dict):
            return [payload]
        if isinstance(payload, list):
            if not payload:
                raise InvalidInputError(
                    "The batch is empty; send at least one record.",
                    [ErrorDetail(problem="empty list", expected="at least one record")],
                )
            return payload
        raise InvalidInputError(
            "The body must be a JSON object (one record) or a list of objects.",
            [
                ErrorDetail(
                    problem=f"got {_json_type(payload)}", expected="object or list"
                )
            ],
        )

    def from_records(self, records: Sequence[Any]) -> Batch:
        """Columns from a list of ``{feature: value}`` records, warning per row."""
        exact = self._exact_columns(records)
        if exact is not None:
            return Batch(columns=self._checked(exact), n_rows=len(records))
        not_objects = [
            ErrorDetail(
                row=index,
                problem=f"got {_json_type(record)}",
                expected="a JSON object of feature values",
            )
            for index, record in enumerate(records)
            if not isinstance(record, dict)
        ]
        if not_objects:
            raise InvalidInputError(
                f"Row {not_objects[0].row} is not a JSON object.",
                not_objects[:MAX_DETAILS],
            )
        for index, record in enumerate(records):
            self.check_width(len(record), index)

        raw = {
            name: [record.get(name) for record in records]
            for name in self.feature_names
        }
        batch = Batch(columns=self._checked(raw), n_rows=len(records))
        self._warn_about_keys(records, batch)
        return batch

    def _exact_columns(self, records: Sequence[Any]) -> RawColumns | None:
        """The columns when every record holds exactly the features, else None.

        The common case, read with C-level loops (no per-row warnings can arise);
        anything else takes the checking path in :meth:`from_records`.
        """
        width = len(self.feature_names)
        if not all(type(record) is dict for record in records):
            return None
        # Every feature present and as many keys as features: no extra keys.
        if sum(map(len, records)) != width * len(records):
            return None
        try:
            rows = list(map(self._row_values, records))
        except KeyError:
            return None
        if width == 1:
            return {self.feature_names[0]: rows}
        columns = map(list, zip(*rows, strict=True))
        return dict(zip(self.feature_names, columns, strict=True))

    def from_split(self, names: Sequence[Any], data: Sequence[Any]) -> Batch:
        """Columns from MLflow's ``dataframe_split``: column names and row lists."""
        if not all(isinstance(name, str) for name in names):
            raise InvalidInputError(
                "dataframe_split.columns must be a list of strings."
            )
        self.check_width(len(names))
        repeated = _first_repeated(names)
        if repeated is not None:
            raise InvalidInputError(
                f"Column {repeated!r} appears twice; give each column one name.",
                [ErrorDetail(problem="duplicate column", field=repeated)],
            )
        bad_rows = [
            ErrorDetail(
                row=index, problem="wrong length", expected=f"{len(names)} values"
            )
            for index, row in enumerate(data)
            if not isinstance(row, list) or len(row) != len(names)
        ]
        if bad_rows:
            raise InvalidInputError(
                "Every row of dataframe_split.data needs one value per column.",
                bad_rows[:MAX_DETAILS],
            )

        position = {name: index for index, name in enumerate(names)}
        raw: RawColumns = {}
        for name in self.feature_names:
            index = position.get(name)
            raw[name] = (
                [None] * len(data) if index is None else [r[index] for r in data]
            )
        return Batch(columns=self._checked(raw), n_rows=len(data))

    def _checked(self, raw: RawColumns) -> Columns:
        details: list[ErrorDetail] = []
        columns: Columns = dict(self._plain_numbers(raw))
        for name, values in raw.items():
            if name in columns:
                continue
            if name in self._numeric:
                columns[name] = _numeric_column(name, values, details)
            else:
                columns[name] = _categorical_column(name, values, details)
        if details:
            details.sort(key=lambda detail: (detail.row or 0, detail.field or ""))
            first = details[0]
            raise InvalidInputError(
                f"Row {first.row}, field {first.field}: {first.problem} "
                f"(expected {first.expected}).",
                details[:MAX_DETAILS],
            )
        return columns

    def _plain_numbers(self, raw: RawColumns) -> dict[str, NumericColumn]:
        """All numeric columns in one conversion when they hold only finite numbers.

        One array for every numeric feature costs about what one column did;
        when any value needs a closer look, nothing is returned and each column
        takes the per-value path.
        """
        names = [name for name in self._numeric_order if name in raw]
        values = [raw[name] for name in names]
        if names and len(values[0]) <= SMALL_BATCH_ROWS:
            return _small_numbers(names, values)
        if not names or not set(map(type, chain.from_iterable(values))) <= _NUMERIC_OK:
            return {}
        try:
            table = np.array(values, dtype=np.float64)
        except (OverflowError, ValueError):
            return {}
        # Every NaN must be a null (missing), not a NaN or infinity that was sent.
        not_finite = int(np.count_nonzero(~np.isfinite(table)))
        if not_finite and not_finite != sum(column.count(None) for column in values):
            return {}
        return dict(zip(names, table, strict=True))

    def _warn_about_keys(self, records: Sequence[dict[str, Any]], batch: Batch) -> None:
        features = self._feature_set
        bad: list[ErrorDetail] = []
        for index, record in enumerate(records):
            if record.keys() == features:
                continue
            for name in self.feature_names:
                if name not in record:
                    batch.add_warning(
                        index,
                        name,
                        "missing_feature",
                        "not in the row; scored as missing",
                    )
            for name in record.keys() - features:
                if type(record[name]) not in _SCALAR_TYPES:
                    bad.append(
                        ErrorDetail(
                            f"got {_json_type(record[name])}",
                            index,
                            str(name),
                            None,
                            "a number, a string or null (even for an unknown field)",
                        )
                    )
                batch.add_warning(
                    index, str(name), "unknown_field", "not a model feature; ignored"
                )
        if bad:
            first = bad[0]
            raise InvalidInputError(
                f"Row {first.row}, field {first.field}: {first.problem} "
                f"(expected {first.expected}).",
                bad[:MAX_DETAILS],
            )


def _small_numbers(
    names: list[str], values: list[list[ColumnValue]]
) -> dict[str, NumericColumn]:
    """:meth:`FeatureValidator._plain_numbers` for a few rows, without numpy."""
    columns: dict[str, NumericColumn] = {}
    for name, column in zip(names, values, strict=True):
        floats = array("d")
        for value in column:
            kind = type(value)
            if kind is float:
                if not math.isfinite(cast(float, value)):
                    return {}
                floats.append(cast(float, value))
            elif kind is int:
                try:
                    floats.append(float(cast(int, value)))
                except OverflowError:
                    return {}
            elif value is None:
                floats.append(math.nan)
            else:
                return {}
        columns[name] = floats
    return columns


def _first_repeated(names: Sequence[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def _numeric_column(
    name: str, values: list[ColumnValue], details: list[ErrorDetail]
) -> npt.NDArray[np.float64]:
    if set(map(type, values)) <= _NUMERIC_OK:
        try:
            as_floats = np.array(values, dtype=np.float64)
        except OverflowError:
            pass
        else:
            if int(np.count_nonzero(~np.isfinite(as_floats))) == values.count(None):
                return as_floats
    numbers = [_number(name, row, value, details) for row, value in enumerate(values)]
    return np.array(numbers, dtype=np.float64)


def _number(
    name: str, row: int, value: ColumnValue, details: list[ErrorDetail]
) -> float | int | None:
    if value is None or (type(value) is int and abs(value) < 2**63):
        return value
    if type(value) is str:
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            details.append(
                ErrorDetail("not a number", row, name, None, _EXPECTED_NUMBER)
            )
            return None
        return _finite(name, row, number, details)
    if type(value) in (int, float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        return _finite(name, row, number, details)
    details.append(
        ErrorDetail(f"got {_json_type(value)}", row, name, None, _EXPECTED_NUMBER)
    )
    return None


def _finite(
    name: str, row: int, number: float, details: list[ErrorDetail]
) -> float | None:
    if math.isfinite(number):
        return number
    details.append(
        ErrorDetail("not a finite number", row, name, None, _EXPECTED_NUMBER)
    )
    return None


def _categorical_column(
    name: str, values: list[ColumnValue], details: list[ErrorDetail]
) -> list[str | None]:
    if set(map(type, values)) <= _CATEGORICAL_OK:
        return cast(list[str | None], values)
    return [_level(name, row, value, details) for row, value in enumerate(values)]


def _level(
    name: str, row: int, value: ColumnValue, details: list[ErrorDetail]
) -> str | None:
    if value is None or type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    if type(value) is float and math.isfinite(value):
        # 2.0 means level "2": JSON writers often turn integer codes into floats.
        return str(int(value)) if value.is_integer() else repr(value)
    problem = (
        "not a finite number" if type(value) is float else f"got {_json_type(value)}"
    )
    details.append(ErrorDetail(problem, row, name, None, _EXPECTED_LEVEL))
    return None


def _json_type(value: object) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        _NONE_TYPE: "null",
    }
    return names.get(type(value), type(value).__name__)


def example_record(schema: ModelSchema) -> dict[str, ColumnValue]:
    """A typical row from the training statistics: ready to send to ``/predict``."""
    record: dict[str, ColumnValue] = {}
    for feature in schema.features:
        stats = feature.stats
        if feature.kind == "numeric":
            typical = stats.mean if stats.mean is not None else stats.min
            record[feature.name] = round(typical, 4) if typical is not None else 0.0
        else:
            levels = feature.levels
            record[feature.name] = stats.most_frequent or (
                levels[0] if levels else None
            )
    return record
