"""Time one call (an HTTP request, an in-process batch) at growing batch sizes.

Each size is called once or twice to warm up, then timed ``repeats`` times
in sequence; the figure is the median, with the 99th percentile beside it.
Repeats shrink for the largest batches so that a slow path stays bounded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from bench.results import BATCH_SECONDS, Figure, median, percentile

logger = logging.getLogger(__name__)

_BIG_BATCH_ROWS = 100_000


def repeats_for(rows: int, repeats: int) -> int:
    """Half the repeats (rounded up) for the biggest batches, all for the rest."""
    if rows >= _BIG_BATCH_ROWS:
        return max(1, (repeats + 1) // 2)
    return repeats


def time_call(
    call: Callable[[], object],
    *,
    model: str,
    path: str,
    rows: int,
    repeats: int,
    warmup: int = 1,
    note: str = "",
) -> Figure:
    """Median wall time of ``call`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        call()
    seconds: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    figure = Figure(
        model=model,
        path=path,
        metric=BATCH_SECONDS,
        value=median(seconds),
        unit="s",
        rows=rows,
        repeats=repeats,
        p50_s=median(seconds),
        p99_s=percentile(seconds, 0.99),
        note=note,
    )
    logger.info("%s %s %d rows: %.4f s", model, path, rows, figure.value)
    return figure


def http_poster(
    client: httpx.Client,
    url: str,
    *,
    content: bytes | None = None,
    files: dict[str, tuple[str, bytes, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Callable[[], object]:
    """A call that POSTs the body, reads the whole answer and checks for 200."""

    def call() -> object:
        response = client.post(url, content=content, files=files, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(
                f"POST {url} answered {response.status_code}: {response.text[:500]}"
            )
        return response.content

    return call
