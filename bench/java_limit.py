"""The limit: bench/java/BenchLoop.java scoring prepared rows in a plain loop.

Compiled with ``javac`` against the model's own ``h2o-genmodel.jar`` and run
as a subprocess, one thread and two, under the scorer's heap and collector; it
prints its timings as JSON. Each size is warmed up right before its samples and
timed for a fixed budget, so that its median is the steady state, not the JIT
or the heap settling; a window in which other work took the CPU is timed again.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.results import Figure
from serving.model_schema import GENMODEL_JAR_NAME, MOJO_FILE_NAME

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).parent / "java" / "BenchLoop.java"
PATH_NAMES = {1: "java-1-thread", 2: "java-2-threads"}
# The scorer's heap and collector (serving/jvm.py, default heap), plus -Xbatch:
# the JIT compiles in the foreground, at the same points of the warm-up in every
# run. Compiled in the background, what C2 made of the tree walk depended on
# timing and load: the steady state of one JVM differed from the next by up to
# 2x (8.6 to 18 ms for 10k rows of the demo GBM). With -Xbatch every run got the
# fast code; the warm-ups trigger the compilations before any timed sample.
JVM_FLAGS = (
    "-Xms32m",
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Xbatch",
)
# Timed wall seconds per batch size (after a quarter of it warming up): enough
# samples that a burst of load on a shared machine moves no median.
SECONDS_PER_SIZE = 1.0


def compile_loop(genmodel_jar: Path, out_dir: Path) -> Path:
    """Compile BenchLoop.java into ``out_dir``; return the class folder."""
    javac = shutil.which("javac")
    if javac is None:
        raise RuntimeError(
            "javac not found: the pure-Java limit needs a JDK 17 "
            "(apt-get install openjdk-17-jdk-headless)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [javac, "-cp", str(genmodel_jar), "-d", str(out_dir), str(SOURCE)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out_dir


def run_loop(
    model_dir: Path,
    classes: Path,
    rows_csv: Path,
    *,
    threads: int,
    sizes: list[int],
    repeats: int,
    warmup_rows: int,
    seconds_per_size: float = SECONDS_PER_SIZE,
) -> dict[str, Any]:
    """Run the compiled loop once and return its parsed JSON report.

    Args:
        repeats: the fewest timed samples per size, whatever the time budget.
        seconds_per_size: the timed wall-clock budget of each size.
    """
    classpath = f"{classes}:{model_dir / GENMODEL_JAR_NAME}"
    command = [
        "java",
        *JVM_FLAGS,
        "-cp",
        classpath,
        "BenchLoop",
        str(model_dir / MOJO_FILE_NAME),
        str(rows_csv),
        str(threads),
        ",".join(str(size) for size in sizes),
        str(repeats),
        str(warmup_rows),
        str(seconds_per_size),
    ]
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"the Java loop failed (exit {done.returncode}): {done.stderr.strip()}"
        )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def measure_limit(
    model_label: str,
    model_dir: Path,
    rows_csv: Path,
    work_dir: Path,
    *,
    sizes: list[int],
    repeats: int,
    warmup_rows: int,
    seconds_per_size: float = SECONDS_PER_SIZE,
) -> tuple[list[Figure], str]:
    """Time the loop at one and two threads; return figures and the Java version."""
    classes = compile_loop(model_dir / GENMODEL_JAR_NAME, work_dir / "bench-classes")
    figures: list[Figure] = []
    java_version = ""
    for threads, path in PATH_NAMES.items():
        report = run_loop(
            model_dir,
            classes,
            rows_csv,
            threads=threads,
            sizes=sizes,
            repeats=repeats,
            warmup_rows=warmup_rows,
            seconds_per_size=seconds_per_size,
        )
        java_version = str(report["java_version"])
        for size, timing in report["sizes"].items():
            figures.append(_figure(model_label, path, int(size), timing, report))
        logger.info("java loop, %d thread(s): %s", threads, report["sizes"])
    return figures, java_version


def _figure(
    model_label: str,
    path: str,
    size: int,
    timing: dict[str, Any],
    report: dict[str, Any],
) -> Figure:
    """The median of one size; minimum, warm-up and CPU wait go in the note."""
    wait_share = float(timing["cpu_wait_share"])
    if wait_share > float(report["max_wait_share"]):
        logger.warning(
            "%s at %d rows waited for a CPU %.0f %% of the time in the best of %d "
            "windows: other work on the machine inflates this limit",
            path,
            size,
            100 * wait_share,
            int(timing["windows"]),
        )
    return Figure(
        model=model_label,
        path=path,
        metric="batch_seconds",
        value=float(timing["median_s"]),
        unit="s",
        rows=size,
        repeats=int(timing["samples"]),
        p50_s=float(timing["median_s"]),
        p99_s=float(timing["p99_s"]),
        note=f"min {float(timing['min_s']):.6g} s; "
        f"{int(timing['warmup_runs'])} untimed runs first; "
        f"waited for a CPU {100 * wait_share:.1f} % of the best of "
        f"{int(timing['windows'])} windows; java {report['jvm_args']}",
    )
