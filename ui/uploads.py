"""Checks on an uploaded CSV before any of it is sent to the scorer.

Cells are read as text and never converted, so that the rows sent to the
scorer are the rows in the file (a level ``"01"`` stays ``"01"``).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

logger = logging.getLogger(__name__)


class UploadProblem(ValueError):
    """The uploaded file cannot be scored as it is; the message says why."""


@dataclass(frozen=True)
class CsvUpload:
    """A CSV that passed the checks, with its cells as text."""

    name: str
    frame: pd.DataFrame
    missing_features: list[str]

    @property
    def rows(self) -> int:
        return len(self.frame)


def read_upload(
    name: str, data: bytes, *, max_bytes: int, feature_names: Sequence[str]
) -> CsvUpload:
    """Check size, encoding, shape and columns; raise UploadProblem naming the fault."""
    try:
        return _checked(name, data, max_bytes, feature_names)
    except UploadProblem as exc:
        logger.info("Upload refused before scoring: %s", exc)
        raise


def _checked(
    name: str, data: bytes, max_bytes: int, feature_names: Sequence[str]
) -> CsvUpload:
    if len(data) > max_bytes:
        raise UploadProblem(
            f"{name} is {_megabytes(len(data))}; the limit is "
            f"{_megabytes(max_bytes)} (setting UI_MAX_UPLOAD_MB). Split the file "
            "or raise the limit."
        )
    text = _decode(name, data)
    frame = _parse(name, text)
    missing = [feature for feature in feature_names if feature not in frame.columns]
    if len(missing) == len(feature_names):
        raise UploadProblem(
            f"{name} has none of the model's feature columns (it has "
            f"{_names(frame.columns)}; the model expects {_names(feature_names)}). "
            "Is this the right file?"
        )
    if frame.empty:
        raise UploadProblem(f"{name} has a header row but no data rows.")
    return CsvUpload(name=name, frame=frame, missing_features=missing)


def csv_chunks(upload: CsvUpload, rows_per_chunk: int) -> Iterator[bytes]:
    """Yield the upload as CSV byte chunks of at most ``rows_per_chunk`` rows each."""
    for start in range(0, max(upload.rows, 1), rows_per_chunk):
        part = upload.frame.iloc[start : start + rows_per_chunk]
        yield part.to_csv(index=False, lineterminator="\n").encode("utf-8")


def missing_columns_message(upload: CsvUpload) -> str:
    """Explain which feature columns the file lacks and what scoring would do."""
    return (
        f"{upload.name} lacks the feature column(s) {_names(upload.missing_features)}. "
        "The scorer would treat them as missing in every row, which usually "
        "means the wrong file or a renamed header."
    )


def _decode(name: str, data: bytes) -> str:
    if not data.strip():
        raise UploadProblem(
            f"{name} is empty. Upload a CSV with a header row and data."
        )
    if b"\x00" in data[:4096]:
        raise UploadProblem(
            f"{name} is not a CSV file (it holds binary data). Export the table "
            "as CSV (comma-separated, UTF-8) and upload that."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadProblem(
            f"{name} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}). "
            "Save it as CSV with UTF-8 encoding."
        ) from exc


def _parse(name: str, text: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, csv.Error) as exc:
        raise UploadProblem(
            f"{name} is not a readable CSV: {exc}. Check the separator (commas) "
            "and quoting."
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise UploadProblem(f"{name} has no header row.") from exc
    header = next(csv.reader(io.StringIO(text)))
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if duplicated:
        raise UploadProblem(f"{name} repeats the column(s) {_names(duplicated)}.")
    return frame


def _names(names: Sequence[str] | pd.Index) -> str:
    shown = [str(name) for name in list(names)[:12]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
