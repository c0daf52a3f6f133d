"""Score batches with one MOJO: one JVM call per batch of columns or CSV.

The MOJO decides the column layout (names, numeric or categorical, levels) and
genmodel's ``EasyPredictModelWrapper`` maps every value, with unknown levels
and invalid numbers scored as missing. This module only packs the columns,
notes which cells hold an unknown level (a set lookup per cell) and unpacks the
results. A scorer owns its JVM: open it, share it between threads, close it.
"""

from __future__ import annotations

import logging
import math
import struct
import sys
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import numpy.typing as npt
import orjson

from serving import batch_codec
from serving.batch_codec import CellValue
from serving.jvm import JavaBatchScorer, JavaRuntime
from serving.model_schema import (
    GENMODEL_JAR_NAME,
    MOJO_FILE_NAME,
    SCHEMA_FILE_NAME,
    ModelSchema,
    Task,
)
from serving.runtime_errors import InvalidBatchError, ModelOpenError, MojoRuntimeError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
# CSV uploads are scored in pieces of about this size: each piece costs a bridge
# crossing (about 1.5 ms for 10k rows), and a bigger one more JVM memory while
# it is scored (4 MiB: about 30 MiB of heap).
CSV_CHUNK_BYTES = 4 * 1024 * 1024
MIN_CSV_ROWS_PER_CHUNK = 1_000

_NAN_BYTES = struct.pack("<d", math.nan)

ColumnValues: TypeAlias = "Sequence[CellValue] | npt.NDArray[np.generic] | array[float]"


@dataclass(frozen=True)
class BatchPrediction:
    """Predictions for a batch, row by row in input order."""

    task: Task
    labels: list[str] | None
    probabilities: npt.NDArray[np.float64] | None
    values: npt.NDArray[np.float64] | None
    unknown_levels: dict[int, list[str]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Number of rows predicted."""
        if self.values is not None:
            return len(self.values)
        return 0 if self.labels is None else len(self.labels)


@dataclass(frozen=True)
class JsonPrediction:
    """Predictions written by the Java side as JSON objects, one line per row."""

    task: Task
    lines: bytes
    unknown_levels: dict[int, list[str]]


@dataclass(frozen=True)
class RecordsPrediction:
    """A whole ``/predict`` body read and scored by the Java side."""

    prediction: JsonPrediction
    rows: int
    # (row, feature, level) for every level the model never saw
    unseen_levels: list[tuple[int, str, object]]


@dataclass(frozen=True)
class _Packed:
    """A batch as it crosses the bridge, and the cells that hold unknown levels."""

    numeric: bytes
    levels: bytes
    unknown_levels: dict[int, list[str]]


@dataclass(frozen=True)
class _InputColumn:
    name: str
    levels: frozenset[str] | None

    @property
    def is_categorical(self) -> bool:
        return self.levels is not None


@dataclass(frozen=True)
class _Layout:
    """What the MOJO itself says about its inputs and outputs."""

    task: Task
    columns: list[_InputColumn]
    model_labels: list[str]
    label_order: npt.NDArray[np.intp]
    width: int


def find_model_files(model_dir: Path) -> tuple[Path, Path, Path]:
    """Find the MOJO, its genmodel jar and its schema anywhere under ``model_dir``."""
    found: list[Path] = []
    for name in (MOJO_FILE_NAME, GENMODEL_JAR_NAME, SCHEMA_FILE_NAME):
        direct = model_dir / name
        matches = [direct] if direct.is_file() else sorted(model_dir.rglob(name))
        if not matches:
            raise ModelOpenError(
                f"{name} was not found under {model_dir}; a model folder holds "
                f"{MOJO_FILE_NAME}, {GENMODEL_JAR_NAME} and {SCHEMA_FILE_NAME}"
            )
        found.append(matches[0])
    return found[0], found[1], found[2]


class MojoScorer:
    """One MOJO loaded in its own JVM; thread safe."""

    def __init__(
        self,
        schema: ModelSchema,
        runtime: JavaRuntime,
        java: JavaBatchScorer,
        layout: _Layout,
    ) -> None:
        self.schema = schema
        self.runtime = runtime
        self._java = java
        self._layout = layout

    @classmethod
    def open(
        cls,
        model_dir: Path,
        *,
        heap_mb: int = 256,
        class_cache_dir: Path | None = None,
        workers: int = DEFAULT_WORKERS,
    ) -> MojoScorer:
        """Start a JVM with the model's own jar and load its MOJO.

        Args:
            class_cache_dir: where the compiled batch scorer is cached
                (default ``artifacts/java-classes``).
            workers: Java threads that share a big batch.
        """
        mojo, jar, schema_file = find_model_files(model_dir)
        try:
            schema = ModelSchema.read(schema_file)
        except ValueError as exc:
            raise ModelOpenError(
                f"{schema_file} is not a valid model schema: {exc}"
            ) from exc

        runtime = JavaRuntime.start(
            jar, heap_mb=heap_mb, class_cache_dir=class_cache_dir
        )
        try:
            java = runtime.load_batch_scorer(mojo, workers)
            layout = _read_layout(java, schema)
        except MojoRuntimeError as exc:
            runtime.stop()
            raise ModelOpenError(f"the MOJO {mojo} cannot be scored: {exc}") from exc
        except BaseException:
            runtime.stop()
            raise
        logger.info(
            "MOJO loaded: %s (%s, %s), %d inputs",
            schema.model_id,
            schema.algorithm,
            layout.task,
            len(layout.columns),
        )
        return cls(schema, runtime, java, layout)

    def score_columns(
        self, columns: Mapping[str, ColumnValues], n_rows: int
    ) -> BatchPrediction:
        """Score ``n_rows`` rows, one sequence per feature (None or NaN = missing)."""
        packed = self._packed(columns, n_rows)
        if n_rows == 0:
            return self._empty_prediction()
        answer = self._java.score_columns(n_rows, packed.numeric, packed.levels)
        results = batch_codec.decode_results(answer, n_rows, self._layout.width)
        return self._prediction(results, packed.unknown_levels)

    def score_columns_json(
        self, columns: Mapping[str, ColumnValues], n_rows: int
    ) -> JsonPrediction:
        """Score like :meth:`score_columns`, answered as ``POST /predict`` JSON rows.

        The rows come back one JSON object per line, each ending with an empty
        ``"warnings":[]``; probabilities are keyed in the MOJO's class order.
        """
        if n_rows == 0:
            raise InvalidBatchError("a batch needs at least one row")
        packed = self._packed(columns, n_rows)
        lines = self._java.score_columns_json(n_rows, packed.numeric, packed.levels)
        return JsonPrediction(self._layout.task, lines, packed.unknown_levels)

    def score_json_records(
        self, body: bytes, max_rows: int
    ) -> RecordsPrediction | None:
        """Read and score a ``/predict`` body of plain records in the JVM.

        Plain records: a JSON array of objects that each hold exactly the
        features, numbers or null for numeric ones, strings or null for
        categorical ones. For anything else this returns None, and the caller
        reads the body in Python (with its warnings and error messages).
        """
        answer = self._java.score_json_records(body, max_rows)
        if answer is None:
            return None
        lines, rows, unseen_json = answer
        unseen: list[tuple[int, str, object]] = [
            (int(row), str(name), str(level))
            for row, name, level in orjson.loads(unseen_json)
        ]
        unknown: dict[int, list[str]] = {}
        for row, name, _level in unseen:
            unknown.setdefault(row, []).append(name)
        return RecordsPrediction(
            JsonPrediction(self._layout.task, lines, unknown), rows, unseen
        )

    async def score_columns_json_async(
        self, columns: Mapping[str, ColumnValues], n_rows: int
    ) -> JsonPrediction:
        """:meth:`score_columns_json` on the event loop, for small batches.

        Raises JavaCallRefused when the Java side throws; the blocking method
        then gives the full error.
        """
        if n_rows == 0:
            raise InvalidBatchError("a batch needs at least one row")
        packed = self._packed(columns, n_rows)
        lines = await self._java.score_columns_json_async(
            n_rows, packed.numeric, packed.levels
        )
        return JsonPrediction(self._layout.task, lines, packed.unknown_levels)

    def _packed(self, columns: Mapping[str, ColumnValues], n_rows: int) -> _Packed:
        numeric: list[bytes] = []
        levels: list[str | None] = []
        unknown: dict[int, list[str]] = {}
        for column in self._layout.columns:
            values = columns.get(column.name)
            if values is not None and len(values) != n_rows:
                raise InvalidBatchError(
                    f"column {column.name!r} has {len(values)} values; "
                    f"expected {n_rows}, one per row"
                )
            if column.levels is None:
                numeric.append(_numeric_bytes(values, n_rows))
            else:
                levels.extend(_levels(column, values, n_rows, unknown))
        return _Packed(b"".join(numeric), batch_codec.pack_strings(levels), unknown)

    def score_frame(self, frame: pd.DataFrame) -> BatchPrediction:
        """Score a pandas DataFrame whose columns are named after the features."""
        # pandas is optional for serving: only this convenience needs it.
        import pandas as pd  # noqa: PLC0415

        columns: dict[str, ColumnValues] = {}
        for column in self._layout.columns:
            if column.name not in frame.columns:
                continue
            series = frame[column.name]
            if not column.is_categorical and pd.api.types.is_numeric_dtype(series):
                columns[column.name] = series.to_numpy(dtype="float64", na_value=np.nan)
            else:
                columns[column.name] = [
                    None if missing else value
                    for value, missing in zip(
                        series.tolist(), series.isna().tolist(), strict=True
                    )
                ]
        return self.score_columns(columns, len(frame))

    def score_csv(self, csv_bytes: bytes) -> bytes:
        """Score a CSV document (header first) and return it with prediction columns."""
        return b"".join(self.iter_score_csv(csv_bytes))

    def iter_score_csv(
        self, csv_bytes: bytes, rows_per_chunk: int | None = None
    ) -> Iterator[bytes]:
        """Score a CSV document chunk by chunk; the first piece carries the header.

        Args:
            rows_per_chunk: records per piece; by default as many as make about
                ``CSV_CHUNK_BYTES``.
        """
        if rows_per_chunk is None:
            if len(csv_bytes) <= CSV_CHUNK_BYTES:
                # One piece: no need to find where records end.
                yield self._java.score_csv(csv_bytes, write_header=True, first_line=1)
                return
            line_bytes = len(csv_bytes) / max(1, csv_bytes.count(b"\n"))
            rows_per_chunk = max(
                MIN_CSV_ROWS_PER_CHUNK, int(CSV_CHUNK_BYTES / line_bytes)
            )
        for piece, first_line, is_first in batch_codec.iter_csv_chunks(
            csv_bytes, rows_per_chunk
        ):
            yield self._java.score_csv(
                piece, write_header=is_first, first_line=first_line
            )

    def is_alive(self) -> bool:
        """True when this scorer's JVM runs and answers."""
        return self.runtime.is_alive()

    def close(self) -> None:
        """Stop the JVM; calling it again does nothing."""
        self.runtime.stop()

    def __enter__(self) -> MojoScorer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _prediction(
        self, results: npt.NDArray[np.float64], unknown: dict[int, list[str]]
    ) -> BatchPrediction:
        layout = self._layout
        if layout.task == "regression":
            return BatchPrediction(
                task="regression",
                labels=None,
                probabilities=None,
                values=results[:, 0].copy(),
                unknown_levels=unknown,
            )
        model_labels = layout.model_labels
        labels = [model_labels[index] for index in results[:, 0].astype(np.intp)]
        probabilities = results[:, 1:][:, layout.label_order]
        return BatchPrediction(
            task=layout.task,
            labels=labels,
            probabilities=probabilities,
            values=None,
            unknown_levels=unknown,
        )

    def _empty_prediction(self) -> BatchPrediction:
        if self._layout.task == "regression":
            return BatchPrediction("regression", None, None, np.empty(0))
        classes = len(self._layout.model_labels)
        return BatchPrediction(self._layout.task, [], np.empty((0, classes)), None)


def _numeric_bytes(values: ColumnValues | None, n_rows: int) -> bytes:
    """One numeric column as float64 bytes; a checked small batch's array("d") as is."""
    if values is None:
        return _NAN_BYTES * n_rows
    if isinstance(values, array) and values.typecode == "d":
        # array("d") is in the machine's byte order; the bridge wants little endian.
        return values.tobytes() if sys.byteorder == "little" else _swapped(values)
    return batch_codec.numeric_column(values).tobytes()


def _swapped(values: array[float]) -> bytes:
    copy = array("d", values)
    copy.byteswap()
    return copy.tobytes()


def _levels(
    column: _InputColumn,
    values: ColumnValues | None,
    n_rows: int,
    unknown: dict[int, list[str]],
) -> list[str | None]:
    if values is None:
        return [None] * n_rows
    known = column.levels or frozenset()
    texts: list[str | None] = []
    for row, value in enumerate(values):
        text = batch_codec.level_text(value)
        # genmodel trims before its lookup; an unknown level scores as missing.
        if text is not None and text not in known and text.strip() not in known:
            unknown.setdefault(row, []).append(column.name)
        texts.append(text)
    return texts


def _read_layout(java: JavaBatchScorer, schema: ModelSchema) -> _Layout:
    task = java.task()
    if task != schema.task:
        raise ModelOpenError(
            f"the schema says task {schema.task!r} but the MOJO is a {task!r} model"
        )
    names = [name or "" for name in batch_codec.unpack_strings(java.feature_names())]
    columns: list[_InputColumn] = []
    for index, name in enumerate(names):
        packed = java.feature_levels(index)
        levels = (
            None
            if packed is None
            else frozenset(level or "" for level in batch_codec.unpack_strings(packed))
        )
        columns.append(_InputColumn(name, levels))
    _warn_on_schema_drift(columns, schema)

    model_labels = [
        label or "" for label in batch_codec.unpack_strings(java.class_labels())
    ]
    label_order = _label_order(model_labels, schema)
    return _Layout(task, columns, model_labels, label_order, java.result_width())


def _label_order(model_labels: list[str], schema: ModelSchema) -> npt.NDArray[np.intp]:
    if schema.task == "regression":
        return np.empty(0, dtype=np.intp)
    if sorted(model_labels) != sorted(schema.class_labels):
        raise ModelOpenError(
            f"the schema's class labels {schema.class_labels} differ from the MOJO's "
            f"{model_labels}; regenerate {SCHEMA_FILE_NAME} from this MOJO"
        )
    return np.array([model_labels.index(label) for label in schema.class_labels])


def _warn_on_schema_drift(columns: list[_InputColumn], schema: ModelSchema) -> None:
    mojo_kinds = {
        c.name: "categorical" if c.is_categorical else "numeric" for c in columns
    }
    schema_kinds = {feature.name: feature.kind for feature in schema.features}
    if mojo_kinds != schema_kinds:
        logger.warning(
            "the schema's features %s differ from the MOJO's %s; "
            "scoring follows the MOJO",
            schema_kinds,
            mojo_kinds,
        )
