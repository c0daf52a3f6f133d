"""Scoring a checked CSV through the scorer in chunks, reporting progress."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ui.client import ScorerClient
from ui.uploads import CsvUpload, csv_chunks

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ScoredBatch:
    """The scored CSV of one upload and how long the scorer took."""

    file_id: str
    csv: bytes
    seconds: float


def score_upload(
    client: ScorerClient,
    upload: CsvUpload,
    *,
    file_id: str,
    rows_per_chunk: int,
    on_progress: ProgressCallback,
) -> ScoredBatch:
    """Send the upload chunk by chunk; raise ScorerError if any chunk fails.

    Args:
        on_progress: called with (chunks done, chunks in all) after each chunk.
    """
    chunks = list(csv_chunks(upload, rows_per_chunk))
    started = time.perf_counter()
    scored = b""
    for done, chunk in enumerate(chunks, start=1):
        answer = client.predict_csv(chunk, upload.name)
        scored += _rows_of(answer, keep_header=not scored)
        on_progress(done, len(chunks))
    seconds = time.perf_counter() - started
    logger.info(
        "Scored %s: %d rows in %d chunks, %.2f s",
        upload.name,
        upload.rows,
        len(chunks),
        seconds,
    )
    return ScoredBatch(file_id=file_id, csv=scored, seconds=seconds)


def _rows_of(answer: bytes, *, keep_header: bool) -> bytes:
    """The answer's lines, without its header unless asked, ending in a newline."""
    body = answer if keep_header else answer.split(b"\n", 1)[-1]
    return body if body.endswith(b"\n") or not body else body + b"\n"
