"""The scorer issue's performance targets and the ratios behind them.

Each target is a ratio of two figures measured in the same run (or one
figure against a fixed bound), with its verdict: ``pass``, ``fail`` or
``not measured`` when a figure is missing (a skipped path, a quick run).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.results import (
    BATCH_SECONDS,
    REQUESTS_PER_S,
    RSS_MB,
    START_TO_READY,
    Figure,
    Results,
)
from bench.scorer_paths import CSV_PATH, JSON_PATH, TRIVIAL_PATH

JAVA_1 = "java-1-thread"
JAVA_2 = "java-2-threads"
MLFLOW_H2O = "mlflow-serve-h2o"
MLFLOW_PYFUNC = "mlflow-serve-pyfunc"


@dataclass(frozen=True)
class Target:
    """One target: the measured ratio (or value), its bound and verdict."""

    name: str
    rule: str
    value: float | None
    bound: float
    higher_is_better: bool
    verdict: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _judge(
    name: str, rule: str, value: float | None, bound: float, higher: bool
) -> Target:
    if value is None:
        verdict = "not measured"
    elif higher:
        verdict = "pass" if value >= bound else "fail"
    else:
        verdict = "pass" if value <= bound else "fail"
    return Target(name, rule, value, bound, higher, verdict)


def _ratio(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def _p50(figure: Figure | None) -> float | None:
    return None if figure is None else figure.p50_s


def single_row_speedup(results: Results, model: str, slower: str) -> float | None:
    """``slower``'s single-row p50 over the scorer's, both taken the same way.

    The p50 at one connection under load when both paths have it, else the
    median of sequential single-row requests (a path too slow to finish a
    request inside the load window has only the latter).
    """
    for metric, extra in (
        (REQUESTS_PER_S, {"connections": 1}),
        (BATCH_SECONDS, {"rows": 1}),
    ):
        theirs = results.find(model, slower, metric, **extra)
        ours = results.find(model, JSON_PATH, metric, **extra)
        if theirs is not None and ours is not None:
            return _ratio(theirs.p50_s, ours.p50_s)
    return None


def _value(figure: Figure | None) -> float | None:
    return None if figure is None else figure.value


def start_figure(results: Results, model: str) -> Figure | None:
    """The scorer's start-to-ready figure: from the registry if measured."""
    for label in ("scorer-registry", "scorer-local"):
        figure = results.find(model, label, START_TO_READY)
        if figure is not None:
            return figure
    return None


def evaluate(results: Results, model: str) -> list[Target]:
    """Every target of the scorer issue for one model."""
    scorer_1 = results.find(model, JSON_PATH, REQUESTS_PER_S, connections=1)
    trivial_1 = results.find(model, TRIVIAL_PATH, REQUESTS_PER_S, connections=1)
    scorer_8 = results.find(model, JSON_PATH, REQUESTS_PER_S, connections=8)
    trivial_8 = results.find(model, TRIVIAL_PATH, REQUESTS_PER_S, connections=8)

    def batch(path: str, rows: int) -> float | None:
        return _value(results.find(model, path, BATCH_SECONDS, rows=rows))

    rss = results.find(model, "scorer-api-plus-jvm", RSS_MB)
    return [
        _judge(
            "single_row_p50_vs_trivial",
            "scorer single-row p50 at 1 connection / trivial endpoint p50 <= 2",
            _ratio(_p50(scorer_1), _p50(trivial_1)),
            2.0,
            False,
        ),
        _judge(
            "req_per_s_at_8_vs_trivial",
            "scorer req/s at 8 connections / trivial endpoint req/s >= 0.5",
            _ratio(_value(scorer_8), _value(trivial_8)),
            0.5,
            True,
        ),
        _judge(
            "json_10k_vs_java",
            "10k rows as one JSON request / pure-Java loop (1 thread) <= 2",
            _ratio(batch(JSON_PATH, 10_000), batch(JAVA_1, 10_000)),
            2.0,
            False,
        ),
        _judge(
            "csv_100k_vs_java",
            "100k rows as one CSV request / pure-Java loop (1 thread) <= 1.5",
            _ratio(batch(CSV_PATH, 100_000), batch(JAVA_1, 100_000)),
            1.5,
            False,
        ),
        _judge(
            "speedup_vs_mlflow_h2o",
            "mlflow models serve (mlflow.h2o) single-row p50 / scorer p50 >= 30",
            single_row_speedup(results, model, MLFLOW_H2O),
            30.0,
            True,
        ),
        _judge(
            "start_to_ready_s",
            "python -m serving: process start to /health/ready 200, seconds < 3",
            _value(start_figure(results, model)),
            3.0,
            False,
        ),
        _judge(
            "rss_mb_after_100k",
            "VmRSS of uvicorn + its JVM after the 100k-row batch, MB < 350",
            _value(rss),
            350.0,
            False,
        ),
    ]


def ratios(results: Results, model: str) -> dict[str, float | None]:
    """Informational ratios: the scorer against every other path."""
    out: dict[str, float | None] = {}
    for rows in (10_000, 100_000):
        # the floor of one JSON request: the framework's parse plus the scoring
        scorer = results.find(model, JSON_PATH, BATCH_SECONDS, rows=rows)
        trivial = results.find(model, TRIVIAL_PATH, BATCH_SECONDS, rows=rows)
        java = results.find(model, JAVA_1, BATCH_SECONDS, rows=rows)
        if scorer and trivial and java:
            out[f"batch_{rows}:scorer-json/(trivial+java-1-thread)"] = scorer.value / (
                trivial.value + java.value
            )
    scorer_1 = results.find(model, JSON_PATH, REQUESTS_PER_S, connections=1)
    for path in results.paths(model, REQUESTS_PER_S):
        other = results.find(model, path, REQUESTS_PER_S, connections=1)
        if path != JSON_PATH:
            out[f"single_row_p50:{path}/scorer"] = _ratio(_p50(other), _p50(scorer_1))
    for rows in (10_000, 100_000):
        scorer = results.find(model, JSON_PATH, BATCH_SECONDS, rows=rows)
        for path in results.paths(model, BATCH_SECONDS):
            other = results.find(model, path, BATCH_SECONDS, rows=rows)
            if path != JSON_PATH and other is not None:
                out[f"batch_{rows}:scorer-json/{path}"] = _ratio(
                    _value(scorer), _value(other)
                )
    return out
