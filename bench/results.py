"""One measured figure, and the collection a run builds up."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

# metric -> unit
BATCH_SECONDS = "batch_seconds"
REQUESTS_PER_S = "requests_per_s"
START_TO_READY = "start_to_ready_seconds"
RSS_MB = "rss_mb"


@dataclass(frozen=True)
class Figure:
    """One median over repeats of one path, at one batch size or concurrency.

    ``batch_seconds``: time to score ``rows`` rows in one call or request
    (median; ``p99_s`` over the samples). ``requests_per_s``: sustained
    throughput at ``connections`` concurrent connections, each request
    carrying ``rows`` rows, with its latency percentiles.
    """

    model: str
    path: str
    metric: str
    value: float
    unit: str
    rows: int = 1
    connections: int | None = None
    repeats: int = 1
    p50_s: float | None = None
    p99_s: float | None = None
    errors: int = 0
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != ""}


@dataclass
class Results:
    """Every figure of one run, searchable by model, path and shape."""

    figures: list[Figure] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def add(self, figures: list[Figure] | Figure) -> None:
        self.figures.extend(figures if isinstance(figures, list) else [figures])

    def skip(self, model: str, path: str, reason: str) -> None:
        """Record a path that was not measured, and why."""
        self.skipped.append({"model": model, "path": path, "reason": reason})

    def find(
        self,
        model: str,
        path: str,
        metric: str,
        *,
        rows: int | None = None,
        connections: int | None = None,
    ) -> Figure | None:
        """The figure matching every given key, or None."""
        for figure in self.figures:
            if (
                figure.model == model
                and figure.path == path
                and figure.metric == metric
                and (rows is None or figure.rows == rows)
                and (connections is None or figure.connections == connections)
            ):
                return figure
        return None

    def models(self) -> list[str]:
        return list(dict.fromkeys(f.model for f in self.figures))

    def paths(self, model: str, metric: str) -> list[str]:
        return list(
            dict.fromkeys(
                f.path for f in self.figures if f.model == model and f.metric == metric
            )
        )


def median(values: list[float]) -> float:
    """Median of a non-empty list."""
    return float(statistics.median(values))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 1)) - 1))
    return float(ordered[index])
