"""The pure-Java limit: BenchLoop under the scorer's JVM flags, timed per size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import java_limit
from bench.rows import synthesize
from serving.model_schema import GENMODEL_JAR_NAME, SCHEMA_FILE_NAME, ModelSchema

_SIZES = [1, 10, 200]
_REPEATS = 3
_SECONDS_PER_SIZE = 0.1


@pytest.fixture(scope="module")
def rows_csv(tiny_binary_mojo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    schema = ModelSchema.read(tiny_binary_mojo / SCHEMA_FILE_NAME)
    out = tmp_path_factory.mktemp("java-limit") / "rows.csv"
    return synthesize(schema, max(_SIZES)).write_plain_csv(out)


@pytest.fixture(scope="module")
def report(
    tiny_binary_mojo: Path, rows_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One run of the loop on one thread, with a short time budget per size."""
    classes = java_limit.compile_loop(
        tiny_binary_mojo / GENMODEL_JAR_NAME,
        tmp_path_factory.mktemp("java-limit-classes"),
    )
    return java_limit.run_loop(
        tiny_binary_mojo,
        classes,
        rows_csv,
        threads=1,
        sizes=_SIZES,
        repeats=_REPEATS,
        warmup_rows=max(_SIZES),
        seconds_per_size=_SECONDS_PER_SIZE,
    )


def test_run_loop_uses_the_scorer_heap_and_collector_and_foreground_jit(
    report: dict[str, Any],
) -> None:
    jvm_args = str(report["jvm_args"]).split()

    assert set(java_limit.JVM_FLAGS) <= set(jvm_args)
    assert {"-Xmx256m", "-XX:+UseSerialGC", "-Xbatch"} <= set(jvm_args)


def test_run_loop_warms_up_and_times_every_size_for_its_budget(
    report: dict[str, Any],
) -> None:
    sizes = report["sizes"]

    assert list(sizes) == [str(size) for size in _SIZES]
    for timing in sizes.values():
        assert timing["warmup_runs"] >= 3
        assert 1 <= timing["windows"] <= 3
        assert 0 < timing["min_s"] <= timing["median_s"] <= timing["p99_s"]
        assert timing["cpu_wait_share"] >= 0
    # one row takes microseconds: the budget, not the repeats, sets the count
    assert sizes["1"]["samples"] > 100 * _REPEATS
    assert all(timing["samples"] >= _REPEATS for timing in sizes.values())


def test_measure_limit_reports_medians_with_minimum_in_the_note(
    tiny_binary_mojo: Path, rows_csv: Path, tmp_path: Path
) -> None:
    figures, java_version = java_limit.measure_limit(
        "tiny",
        tiny_binary_mojo,
        rows_csv,
        tmp_path,
        sizes=_SIZES,
        repeats=_REPEATS,
        warmup_rows=max(_SIZES),
        seconds_per_size=0.02,
    )

    shapes = {(figure.path, figure.rows) for figure in figures}
    # two threads need two rows at least
    assert shapes == {
        ("java-1-thread", 1),
        ("java-1-thread", 10),
        ("java-1-thread", 200),
        ("java-2-threads", 10),
        ("java-2-threads", 200),
    }
    assert java_version
    for figure in figures:
        assert figure.value == figure.p50_s
        assert figure.p99_s is not None and figure.value <= figure.p99_s
        assert figure.note.startswith("min ") and "-XX:+UseSerialGC" in figure.note
