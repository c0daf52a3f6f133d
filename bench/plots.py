"""Two PNG plots of one run: latency against rows per request (every path,
log axes), and requests per second against connections."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.results import BATCH_SECONDS, REQUESTS_PER_S, Results


def plot_names(model: str, main_model: str) -> tuple[str, str]:
    """File names of the two plots; the main model's carry no suffix."""
    suffix = "" if model == main_model else f"-{model}"
    return f"latency_vs_rows{suffix}.png", f"throughput_vs_connections{suffix}.png"


_MARKERS = "osD^vP*Xh<>p"


def _style(index: int, path: str) -> dict[str, object]:
    """A distinct colour and marker per path; the line tells the family."""
    if path.startswith("java"):
        line, width = "--", 2.0
    elif path.startswith("scorer"):
        line, width = "-", 2.4
    else:
        line, width = ":", 1.6
    return {
        "color": plt.get_cmap("tab20")(index % 20),
        "marker": _MARKERS[index % len(_MARKERS)],
        "linestyle": line,
        "linewidth": width,
    }


def plot_latency(results: Results, model: str, path_out: Path) -> Path:
    """Median time of one call against rows per call, log-log, one line per path."""
    figure, axes = plt.subplots(figsize=(9, 6))
    for index, path in enumerate(results.paths(model, BATCH_SECONDS)):
        points = sorted(
            (f.rows, f.value)
            for f in results.figures
            if f.model == model and f.path == path and f.metric == BATCH_SECONDS
        )
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            label=path,
            **_style(index, path),  # type: ignore[arg-type]
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("rows per request (or call)")
    axes.set_ylabel("median time of one request (s)")
    axes.set_title(f"Latency against batch size, model '{model}'")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path_out, dpi=110)
    plt.close(figure)
    return path_out


def plot_throughput(results: Results, model: str, path_out: Path) -> Path:
    """Single-row requests per second against concurrent connections."""
    figure, axes = plt.subplots(figsize=(8, 5))
    for index, path in enumerate(results.paths(model, REQUESTS_PER_S)):
        points = sorted(
            (f.connections or 0, f.value)
            for f in results.figures
            if f.model == model and f.path == path and f.metric == REQUESTS_PER_S
        )
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            label=path,
            **_style(index, path),  # type: ignore[arg-type]
        )
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("concurrent connections")
    axes.set_ylabel("requests per second (one row each)")
    axes.set_title(f"Throughput against connections, model '{model}'")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path_out, dpi=110)
    plt.close(figure)
    return path_out
