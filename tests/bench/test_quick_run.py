"""The benchmark end to end on a tiny MOJO: every path of a quick run measured,
the results, targets and plots written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

_EXPECTED_BATCH_PATHS = {
    "java-1-thread",
    "java-2-threads",
    "trivial-fastapi",
    "scorer-http-json",
    "scorer-http-csv",
    "scorer-inprocess-columns",
    "scorer-inprocess-csv",
}
_VERDICTS = {"pass", "fail", "not measured"}


@pytest.fixture(scope="module")
def quick_run(
    tiny_binary_mojo: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """``python -m bench.run --quick`` on the tiny GBM, shortened for CI."""
    out = tmp_path_factory.mktemp("bench-out")
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "--quick",
        "--model-dir",
        str(tiny_binary_mojo),
        "--out",
        str(out),
        "--work-dir",
        str(tmp_path_factory.mktemp("bench-work")),
        "--sizes",
        "1,100,2000",
        "--connections",
        "1,2",
        "--load-seconds",
        "1",
        "--warmup-seconds",
        "1",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out, json.loads((out / "latest.json").read_text())


def test_quick_run_measures_every_local_path_at_every_size(
    quick_run: tuple[Path, dict[str, Any]],
) -> None:
    _, document = quick_run
    batches = {
        (f["path"], f["rows"])
        for f in document["figures"]
        if f["metric"] == "batch_seconds" and f["value"] > 0
    }

    for path in _EXPECTED_BATCH_PATHS - {"java-2-threads"}:
        assert {(path, rows) for rows in (1, 100, 2000)} <= batches, path
    assert {("java-2-threads", 100), ("java-2-threads", 2000)} <= batches


def test_quick_run_loads_scorer_and_trivial_endpoint_without_errors(
    quick_run: tuple[Path, dict[str, Any]],
) -> None:
    _, document = quick_run
    load = [f for f in document["figures"] if f["metric"] == "requests_per_s"]

    measured = {(f["path"], f["connections"]) for f in load}
    assert measured == {
        (path, conns)
        for path in ("trivial-fastapi", "scorer-http-json")
        for conns in (1, 2)
    }
    assert all(f["value"] > 0 and f["errors"] == 0 for f in load)
    assert all(0 < f["p50_s"] <= f["p99_s"] for f in load)


def test_quick_run_records_start_memory_machine_and_every_target(
    quick_run: tuple[Path, dict[str, Any]],
) -> None:
    _, document = quick_run
    metrics = {(f["path"], f["metric"]) for f in document["figures"]}
    targets = document["targets"]["demo"]

    assert ("scorer-local", "start_to_ready_seconds") in metrics
    assert ("scorer-api-plus-jvm", "rss_mb") in metrics
    assert document["machine"]["cores"] >= 1
    assert document["versions"]["java"]
    assert len(targets) == 7
    assert {t["verdict"] for t in targets} <= _VERDICTS
    # the alternatives are skipped in a quick run, and say so
    assert (
        next(t for t in targets if t["name"] == "speedup_vs_mlflow_h2o")["verdict"]
        == "not measured"
    )
    assert document["skipped"]


def test_quick_run_writes_table_scorer_figures_and_two_png_plots(
    quick_run: tuple[Path, dict[str, Any]],
) -> None:
    out, _ = quick_run
    table = (out / "latest.md").read_text()
    scorer = json.loads((out / "scorer.json").read_text())

    assert "| scorer-http-json |" in table
    assert "| java-1-thread |" in table
    assert scorer["model"] == "demo" and len(scorer["targets"]) == 7
    for name in ("latency_vs_rows.png", "throughput_vs_connections.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
