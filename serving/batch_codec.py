"""How batches are packed to cross the py4j bridge in one call, and unpacked after.

Numbers travel as little-endian float64 bytes (NaN = missing); strings as one
byte string: an int32 count, int32 lengths (-1 = missing), then the UTF-8 bytes
back to back (the Java side is ``mojoserve.PackedStrings``). CSV documents are
cut into chunks at record boundaries so that big uploads score piece by piece.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import numpy.typing as npt

FLOAT64 = np.dtype("<f8")
_INT32 = np.dtype("<i4")
_NEWLINE = 0x0A
_QUOTE = 0x22

CellValue = float | int | str | None


def pack_strings(values: Sequence[str | None]) -> bytes:
    """Pack strings (None = missing) for ``mojoserve.PackedStrings.decode``."""
    encoded = [b"" if value is None else value.encode("utf-8") for value in values]
    lengths = [
        -1 if value is None else len(data)
        for value, data in zip(values, encoded, strict=True)
    ]
    return struct.pack(f"<i{len(lengths)}i", len(lengths), *lengths) + b"".join(encoded)


def unpack_strings(packed: bytes) -> list[str | None]:
    """Inverse of :func:`pack_strings`."""
    count = int(np.frombuffer(packed, dtype=_INT32, count=1)[0])
    lengths = np.frombuffer(packed, dtype=_INT32, count=count, offset=4).tolist()
    offset = 4 + 4 * count
    values: list[str | None] = []
    for length in lengths:
        if length < 0:
            values.append(None)
            continue
        values.append(packed[offset : offset + length].decode("utf-8"))
        offset += length
    return values


def numeric_column(
    values: Sequence[CellValue] | npt.NDArray[np.generic],
) -> npt.NDArray[np.float64]:
    """Float64 column; None, NaN and text that is not a number become NaN."""
    try:
        return np.asarray(values, dtype=FLOAT64)
    except (TypeError, ValueError):
        return np.fromiter(
            (_to_float(value) for value in values), dtype=FLOAT64, count=len(values)
        )


def _to_float(value: object) -> float:
    if value is None or isinstance(value, bool):
        return math.nan if value is None else float(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def level_text(value: object) -> str | None:
    """The categorical level a cell stands for; None when missing.

    Integral numbers read as their integer text (``1.0`` -> ``"1"``), the way
    H2O names the levels of a numeric column turned into a factor.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, Real) and not isinstance(value, bool):
        number = float(value)
        if math.isnan(number):
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def decode_results(packed: bytes, rows: int, width: int) -> npt.NDArray[np.float64]:
    """The Java side's float64 results as a (rows, width) array."""
    return np.frombuffer(packed, dtype=FLOAT64).reshape(rows, width)


@dataclass(frozen=True)
class CsvChunk:
    """A run of whole CSV records and the physical line its first byte is on."""

    body: bytes
    first_line: int


def split_csv(data: bytes, rows_per_chunk: int) -> tuple[bytes, list[CsvChunk]]:
    """Cut a CSV document into its header and chunks of ``rows_per_chunk`` records.

    A newline ends a record when an even number of double quotes precede it, so
    line breaks inside quoted fields stay inside their record. Blank lines count
    as records here, which only makes a chunk a little shorter.
    """
    view = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(view == _NEWLINE)
    quotes = np.flatnonzero(view == _QUOTE)
    quotes_before = np.searchsorted(quotes, newlines)
    record_ends = newlines[quotes_before % 2 == 0]
    line_of_end = np.flatnonzero(quotes_before % 2 == 0)
    if len(record_ends) == 0:
        return data, []

    header_end = int(record_ends[0]) + 1
    header = data[:header_end]
    chunks: list[CsvChunk] = []
    start, start_line = header_end, int(line_of_end[0]) + 2
    for index in range(rows_per_chunk, len(record_ends), rows_per_chunk):
        end = int(record_ends[index]) + 1
        chunks.append(CsvChunk(data[start:end], start_line))
        start, start_line = end, int(line_of_end[index]) + 2
    if start < len(data):
        chunks.append(CsvChunk(data[start:], start_line))
    return header, chunks


def iter_csv_chunks(
    data: bytes, rows_per_chunk: int
) -> Iterator[tuple[bytes, int, bool]]:
    """Yield ``(csv_with_header, first_line, is_first)`` pieces for the Java side."""
    header, chunks = split_csv(data, rows_per_chunk)
    if len(chunks) <= 1:
        yield data, 1, True
        return
    header_lines = header.count(b"\n")
    for index, chunk in enumerate(chunks):
        yield header + chunk.body, chunk.first_line - header_lines, index == 0
