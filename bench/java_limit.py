"""The limit: bench/java/BenchLoop.java scoring prepared rows in a plain loop.

Compiled with ``javac`` against the model's own ``h2o-genmodel.jar`` and run
as a subprocess, one thread and two; it prints its timings as JSON.
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
) -> dict[str, Any]:
    """Run the compiled loop once and return its parsed JSON report."""
    classpath = f"{classes}:{model_dir / GENMODEL_JAR_NAME}"
    command = [
        "java",
        "-Xmx512m",
        "-cp",
        classpath,
        "BenchLoop",
        str(model_dir / MOJO_FILE_NAME),
        str(rows_csv),
        str(threads),
        ",".join(str(size) for size in sizes),
        str(repeats),
        str(warmup_rows),
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
        )
        java_version = str(report["java_version"])
        for size, timing in report["sizes"].items():
            figures.append(
                Figure(
                    model=model_label,
                    path=path,
                    metric="batch_seconds",
                    value=float(timing["median_s"]),
                    unit="s",
                    rows=int(size),
                    repeats=int(timing["samples"]),
                    p50_s=float(timing["median_s"]),
                    p99_s=float(timing["p99_s"]),
                )
            )
        logger.info("java loop, %d thread(s): %s", threads, report["sizes"])
    return figures, java_version
