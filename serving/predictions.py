"""The prediction endpoints' work, off the event loop: parse, check, score, encode.

Each function runs in one worker thread per request and returns finished
bytes, so the event loop only moves bytes in and out. A dead JVM surfaces as
:class:`~serving.runtime_errors.RuntimeUnavailable`; the API turns it into 503.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from serving.errors import (
    ErrorDetail,
    InvalidInputError,
    MalformedBodyError,
    PayloadTooLargeError,
)
from serving.generation import ModelGeneration
from serving.jvm import FILE_EXCHANGE_BYTES
from serving.metrics import ServingMetrics
from serving.runtime_errors import CsvFormatError
from serving.scorer import BatchPrediction, JsonPrediction
from serving.validation import Batch, RowWarnings, parse_json

# How every JSON row from the Java side ends (see mojoserve.JsonRows).
_EMPTY_WARNINGS_END = b"[]}"
_NEWLINE = 0x0A
_QUOTE = 0x22
_INVOCATION_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# From this size on, a /predict body goes to the JVM whole, as a file.
RECORDS_IN_JAVA_BYTES = FILE_EXCHANGE_BYTES


@dataclass(frozen=True)
class Scored:
    """A finished answer and the number of rows behind it."""

    body: bytes
    rows: int


def predict_json(
    generation: ModelGeneration, body: bytes, max_rows: int, metrics: ServingMetrics
) -> Scored:
    """``POST /predict``: one record or a list, answered with per-row warnings."""
    if len(body) >= RECORDS_IN_JAVA_BYTES:
        # The usual big body (exactly the features, plain values) never becomes
        # Python objects: parsing and checking it took as long as scoring it.
        in_java = generation.scorer.score_json_records(body, max_rows)
        if in_java is not None:
            batch = Batch(columns={}, n_rows=in_java.rows)
            _warn_unseen_levels(batch, in_java.unseen_levels, metrics)
            return _answer(generation, batch, in_java.prediction)
    batch = read_json_batch(generation, body, max_rows)
    prediction = generation.scorer.score_columns_json(batch.columns, batch.n_rows)
    return json_answer(generation, batch, prediction, metrics)


def read_json_batch(generation: ModelGeneration, body: bytes, max_rows: int) -> Batch:
    """The validated rows of a ``POST /predict`` body."""
    validator = generation.validator
    records = validator.records(parse_json(body))
    check_row_count(len(records), max_rows)
    return validator.from_records(records)


def json_answer(
    generation: ModelGeneration,
    batch: Batch,
    prediction: JsonPrediction,
    metrics: ServingMetrics,
) -> Scored:
    """The ``POST /predict`` answer: model, task and one object per row."""
    _warn_unseen_levels(batch, _unseen_cells(batch, prediction.unknown_levels), metrics)
    return _answer(generation, batch, prediction)


def _answer(
    generation: ModelGeneration, batch: Batch, prediction: JsonPrediction
) -> Scored:
    rows = _json_rows_with_warnings(prediction.lines, batch.warnings)
    return Scored(generation.predict_answer_head + rows + b"]}", batch.n_rows)


def predict_invocations(
    generation: ModelGeneration,
    body: bytes,
    content_type: str,
    max_rows: int,
    metrics: ServingMetrics,
) -> Scored:
    """``POST /invocations``: MLflow's scoring protocol, JSON or CSV."""
    if content_type.startswith("text/csv"):
        names, rows = _csv_rows(body)
        check_row_count(len(rows), max_rows)
        batch = generation.validator.from_split(names, rows)
    else:
        batch = _invocation_batch(generation, parse_json(body), max_rows)

    prediction = generation.scorer.score_columns(batch.columns, batch.n_rows)
    _warn_unseen_levels(batch, _unseen_cells(batch, prediction.unknown_levels), metrics)
    return Scored(
        orjson.dumps({"predictions": _flat_rows(generation, prediction)}), batch.n_rows
    )


def predict_csv(generation: ModelGeneration, data: bytes, max_rows: int) -> Scored:
    """``POST /predict/csv``: the CSV back with prediction columns, scored in chunks."""
    _check_csv_header(data, generation.validator.max_fields)
    rows = count_csv_records(data) - 1
    if rows < 1:
        raise InvalidInputError(
            "The CSV has a header but no rows; add at least one row.",
            [ErrorDetail(problem="no data rows", line=2, expected="at least one row")],
        )
    check_row_count(rows, max_rows)
    try:
        pieces = list(generation.scorer.iter_score_csv(data))
    except CsvFormatError as exc:
        raise MalformedBodyError(
            f"The CSV cannot be read at line {exc.line}: {exc.problem}.",
            [
                ErrorDetail(
                    problem=exc.problem, line=exc.line, expected="well-formed CSV"
                )
            ],
        ) from exc
    return Scored(b"".join(pieces), rows)


def check_row_count(rows: int, max_rows: int) -> None:
    """413 when a request holds more rows than SERVING_MAX_ROWS."""
    if rows > max_rows:
        raise PayloadTooLargeError(
            f"The request holds {rows} rows; the limit is {max_rows} "
            f"(SERVING_MAX_ROWS). Split it into smaller batches.",
            [ErrorDetail(problem=f"{rows} rows", expected=f"at most {max_rows} rows")],
        )


def count_csv_records(data: bytes) -> int:
    """Records in a CSV: newlines outside quotes, plus an unterminated last line.

    Raises MalformedBodyError naming the line of a quote that is never closed.
    """
    view = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(view == _NEWLINE)
    quotes = np.flatnonzero(view == _QUOTE)
    if len(quotes) % 2:
        line = int(np.searchsorted(newlines, quotes[-1])) + 1
        raise MalformedBodyError(
            f"The CSV has a quote on line {line} that is never closed.",
            [
                ErrorDetail(
                    problem="unclosed quote", line=line, expected="a closing quote"
                )
            ],
        )
    outside = np.searchsorted(quotes, newlines) % 2 == 0
    records = int(np.count_nonzero(outside))
    if data and not data.endswith(b"\n"):
        records += 1
    return records


def _json_rows_with_warnings(lines: bytes, warnings: RowWarnings) -> bytes:
    """The Java side's JSON rows (one per line) as array items, warnings filled in.

    Each line ends with ``"warnings":[]}``; rows with warnings get theirs in place
    of the empty list. Without any (the usual case) this is one pass over bytes.
    """
    body = lines.removesuffix(b"\n")
    if not warnings:
        return body.replace(b"\n", b",")
    rows = body.split(b"\n")
    for row, entries in warnings.items():
        rows[row] = (
            rows[row][: -len(_EMPTY_WARNINGS_END)] + orjson.dumps(entries) + b"}"
        )
    return b",".join(rows)


def _flat_rows(
    generation: ModelGeneration, prediction: BatchPrediction
) -> list[dict[str, Any]]:
    if prediction.values is not None:
        return [{"predict": value} for value in prediction.values.tolist()]
    assert prediction.labels is not None and prediction.probabilities is not None
    keys = ["predict", *(f"p_{label}" for label in generation.schema.class_labels)]
    return [
        dict(zip(keys, [label, *probabilities], strict=True))
        for label, probabilities in zip(
            prediction.labels, prediction.probabilities.tolist(), strict=True
        )
    ]


def _unseen_cells(
    batch: Batch, unknown_levels: dict[int, list[str]]
) -> list[tuple[int, str, object]]:
    """(row, feature, level) of each unseen level, the levels read from the batch."""
    return [
        (row, feature, batch.columns[feature][row])
        for row, features in unknown_levels.items()
        for feature in features
    ]


def _warn_unseen_levels(
    batch: Batch, cells: list[tuple[int, str, object]], metrics: ServingMetrics
) -> None:
    """Warn on each (row, feature, level) whose level the model never saw."""
    for row, feature, value in cells:
        metrics.unknown_levels.labels(feature).inc()
        batch.add_warning(
            row,
            feature,
            "unknown_level",
            f"level {value!r} was not seen in training; scored as missing",
        )


def _invocation_batch(
    generation: ModelGeneration, payload: Any, max_rows: int
) -> Batch:
    validator = generation.validator
    if not isinstance(payload, dict) or not any(
        key in payload for key in _INVOCATION_KEYS
    ):
        raise InvalidInputError(
            "The body must be an object with one of the keys "
            f"{', '.join(_INVOCATION_KEYS)} (MLflow's scoring protocol).",
            [
                ErrorDetail(
                    problem="no known key", expected=" | ".join(_INVOCATION_KEYS)
                )
            ],
        )
    present = [key for key in _INVOCATION_KEYS if key in payload]
    if len(present) > 1:
        raise InvalidInputError(
            f"The body holds {', '.join(present)}; send exactly one of them.",
            [ErrorDetail(problem="several keys", expected="exactly one key")],
        )
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        if not isinstance(split, dict) or not isinstance(split.get("data"), list):
            raise InvalidInputError(
                "dataframe_split must be an object with 'columns' and 'data' lists.",
                [ErrorDetail(problem="bad shape", field="dataframe_split")],
            )
        data = split["data"]
        columns = split.get("columns") or validator.feature_names
        if not isinstance(columns, list):
            raise InvalidInputError("dataframe_split.columns must be a list of names.")
        check_row_count(len(data), max_rows)
        if not data:
            raise InvalidInputError("The batch is empty; send at least one row.")
        return validator.from_split(columns, data)

    key = next(key for key in _INVOCATION_KEYS[1:] if key in payload)
    records = validator.records(payload[key])
    check_row_count(len(records), max_rows)
    return validator.from_records(records)


def _csv_rows(body: bytes) -> tuple[list[str], list[list[str | None]]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedBodyError(f"The CSV is not UTF-8 text: {exc}.") from exc
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise MalformedBodyError(
                "The CSV is empty; send a header row and data rows."
            )
        rows: list[list[str | None]] = []
        for record in reader:
            if not record:
                continue
            if len(record) != len(header):
                raise MalformedBodyError(
                    f"CSV line {reader.line_num} has {len(record)} fields; the header "
                    f"has {len(header)}.",
                    [ErrorDetail(problem="wrong field count", line=reader.line_num)],
                )
            rows.append([value if value != "" else None for value in record])
    except csv.Error as exc:
        raise MalformedBodyError(
            f"The CSV cannot be read at line {reader.line_num}: {exc}.",
            [ErrorDetail(problem=str(exc), line=reader.line_num)],
        ) from exc
    if not rows:
        raise InvalidInputError(
            "The CSV has a header but no rows; add at least one row."
        )
    return header, rows


def _check_csv_header(data: bytes, max_fields: int) -> None:
    """Refuse an empty, too wide or repeating header before scoring."""
    first_line = data.split(b"\n", 1)[0]
    if not first_line.strip():
        raise MalformedBodyError(
            "The CSV is empty or starts with a blank line; send a header row first.",
            [ErrorDetail(problem="no header", line=1, expected="a header row")],
        )
    try:
        header = next(csv.reader([first_line.decode("utf-8-sig").rstrip("\r")]))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MalformedBodyError(
            f"The CSV header cannot be read: {exc}.",
            [
                ErrorDetail(
                    problem=str(exc), line=1, expected="UTF-8 comma-separated names"
                )
            ],
        ) from exc
    if len(header) > max_fields:
        raise PayloadTooLargeError(
            f"The CSV header holds {len(header)} columns; a row may hold at most "
            f"{max_fields}. Send only the model's features.",
            [ErrorDetail(problem=f"{len(header)} columns", line=1)],
        )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise MalformedBodyError(
                f"The CSV header repeats column {name!r}; give each column one name.",
                [ErrorDetail(problem="duplicate column", field=name, line=1)],
            )
        seen.add(name)
