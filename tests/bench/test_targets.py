"""Targets: ratios of figures from one run, judged pass, fail or not measured."""

from __future__ import annotations

import pytest

from bench.results import (
    BATCH_SECONDS,
    REQUESTS_PER_S,
    RSS_MB,
    START_TO_READY,
    Figure,
    Results,
)
from bench.targets import evaluate


def _load(path: str, conns: int, rps: float, p50_s: float) -> Figure:
    return Figure(
        "m", path, REQUESTS_PER_S, rps, "req/s", connections=conns, p50_s=p50_s
    )


def _batch(path: str, rows: int, seconds: float) -> Figure:
    return Figure("m", path, BATCH_SECONDS, seconds, "s", rows=rows, p50_s=seconds)


def _results(scorer_p50_s: float, scorer_rps_8: float) -> Results:
    results = Results()
    results.add(
        [
            _load("trivial-fastapi", 1, 3000, 0.0003),
            _load("trivial-fastapi", 8, 4000, 0.002),
            _load("scorer-http-json", 1, 1000, scorer_p50_s),
            _load("scorer-http-json", 8, scorer_rps_8, 0.005),
            _load("mlflow-serve-h2o", 1, 3, 0.3),
            _batch("java-1-thread", 10_000, 0.05),
            _batch("java-1-thread", 100_000, 0.5),
            _batch("scorer-http-json", 10_000, 0.09),
            _batch("scorer-http-csv", 100_000, 0.9),
            Figure("m", "scorer-registry", START_TO_READY, 2.5, "s"),
            Figure("m", "scorer-api-plus-jvm", RSS_MB, 300.0, "MB"),
        ]
    )
    return results


def _verdicts(results: Results) -> dict[str, str]:
    return {t.name: t.verdict for t in evaluate(results, "m")}


def test_evaluate_with_every_figure_within_bounds_passes_all_but_the_missed() -> None:
    verdicts = _verdicts(_results(scorer_p50_s=0.0005, scorer_rps_8=2500))

    assert verdicts == {
        "single_row_p50_vs_trivial": "pass",
        "req_per_s_at_8_vs_trivial": "pass",
        "json_10k_vs_java": "pass",
        "csv_100k_vs_java": "fail",  # 0.9 / 0.5 = 1.8 > 1.5
        "speedup_vs_mlflow_h2o": "pass",
        "start_to_ready_s": "pass",
        "rss_mb_after_100k": "pass",
    }


@pytest.mark.parametrize(
    ("p50_s", "rps_8", "expected"),
    [
        (0.0006, 2000, ("pass", "pass")),  # exactly 2x and exactly 0.5x
        (0.00061, 1999, ("fail", "fail")),
    ],
    ids=["on-the-bounds", "just-beyond"],
)
def test_evaluate_on_the_bounds_is_inclusive(
    p50_s: float, rps_8: float, expected: tuple[str, str]
) -> None:
    verdicts = _verdicts(_results(scorer_p50_s=p50_s, scorer_rps_8=rps_8))

    assert (
        verdicts["single_row_p50_vs_trivial"],
        verdicts["req_per_s_at_8_vs_trivial"],
    ) == expected


def test_evaluate_without_the_alternative_says_not_measured() -> None:
    results = _results(scorer_p50_s=0.0005, scorer_rps_8=2500)
    results.figures = [f for f in results.figures if f.path != "mlflow-serve-h2o"]

    target = next(
        t for t in evaluate(results, "m") if t.name == "speedup_vs_mlflow_h2o"
    )

    assert (target.value, target.verdict) == (None, "not measured")


def test_speedup_without_a_load_figure_compares_sequential_medians_of_both() -> None:
    results = _results(scorer_p50_s=0.0005, scorer_rps_8=2500)
    results.figures = [f for f in results.figures if f.path != "mlflow-serve-h2o"]
    results.add(
        [
            _batch("mlflow-serve-h2o", 1, 0.6),
            _batch("scorer-http-json", 1, 0.002),
        ]
    )

    target = next(
        t for t in evaluate(results, "m") if t.name == "speedup_vs_mlflow_h2o"
    )

    assert target.value == pytest.approx(300.0)
    assert target.verdict == "pass"
