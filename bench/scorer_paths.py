"""This project's scorer: over HTTP (``python -m serving``) and in-process.

Over HTTP: process start to ready, single rows at each concurrency, one
request per batch size as JSON (``POST /predict``) and CSV (``POST
/predict/csv``), and the resident memory of the API and its JVM after the
largest batch. In-process: ``MojoScorer.score_columns`` and ``score_csv``
without HTTP.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import httpx

from bench.batches import http_poster, repeats_for, time_call
from bench.loadgen import LoadShape, measure_load
from bench.results import RSS_MB, START_TO_READY, Figure, median
from bench.rows import BenchRows, ColumnMap
from bench.servers import RunningServer, free_port, serve
from serving.scorer import MojoScorer

logger = logging.getLogger(__name__)

JSON_PATH = "scorer-http-json"
CSV_PATH = "scorer-http-csv"
COLUMNS_PATH = "scorer-inprocess-columns"
INPROCESS_CSV_PATH = "scorer-inprocess-csv"
TRIVIAL_PATH = "trivial-fastapi"


def scorer_env(source: dict[str, str], port: int, work_dir: Path) -> dict[str, str]:
    """SERVING_* settings for a scorer on ``port`` with its cache under work_dir."""
    return {
        **source,
        "SERVING_HOST": "127.0.0.1",
        "SERVING_PORT": str(port),
        "SERVING_CACHE_DIR": str(work_dir / "scorer-cache"),
        "SERVING_JAVA_CLASSES_DIR": str(work_dir / "java-classes"),
    }


def start_scorer(
    source: dict[str, str], work_dir: Path
) -> tuple[list[str], dict[str, str], int]:
    """Command, environment and port of one scorer process."""
    port = free_port()
    command = [sys.executable, "-m", "serving"]
    return command, scorer_env(source, port, work_dir), port


def measure_start_to_ready(
    model: str, source: dict[str, str], work_dir: Path, *, starts: int, label: str
) -> Figure:
    """Median time from process start to ``/health/ready`` answering 200."""
    seconds = []
    for index in range(starts):
        command, env, port = start_scorer(source, work_dir)
        with serve(
            command,
            port=port,
            ready_path="/health/ready",
            log_path=work_dir / f"scorer-start-{model}-{label}-{index}.log",
            env=env,
        ) as server:
            seconds.append(server.start_to_ready_s)
    return Figure(
        model,
        f"scorer-{label}",
        START_TO_READY,
        median(seconds),
        "s",
        repeats=starts,
        note=f"python -m serving, model from {label}; samples "
        + ", ".join(f"{s:.2f}" for s in seconds),
    )


def measure_batches(
    server: RunningServer,
    model: str,
    rows: BenchRows,
    *,
    sizes: list[int],
    repeats: int,
    csv: bool,
    path: str,
) -> list[Figure]:
    """One request per batch size, JSON (and CSV), sequential, medians."""
    figures = []
    with httpx.Client(timeout=600.0) as client:
        for size in sizes:
            batch = rows.head(size)
            body = batch.json_single() if size == 1 else batch.json_records()
            call = http_poster(
                client,
                server.base_url + "/predict",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            reps = repeats_for(size, repeats)
            figures.append(
                time_call(call, model=model, path=path, rows=size, repeats=reps)
            )
            if csv:
                files = {"file": ("rows.csv", batch.csv_bytes(), "text/csv")}
                call = http_poster(
                    client, server.base_url + "/predict/csv", files=files
                )
                figures.append(
                    time_call(call, model=model, path=CSV_PATH, rows=size, repeats=reps)
                )
    return figures


def measure_scorer_http(
    model: str,
    source: dict[str, str],
    rows: BenchRows,
    work_dir: Path,
    *,
    sizes: list[int],
    shape: LoadShape,
    repeats: int,
) -> tuple[list[Figure], dict[str, float]]:
    """Load and batch figures of one running scorer, then its memory."""
    command, env, port = start_scorer(source, work_dir)
    with serve(
        command,
        port=port,
        ready_path="/health/ready",
        log_path=work_dir / f"scorer-http-{model}.log",
        env=env,
    ) as server:
        figures = measure_load(
            model=model,
            path=JSON_PATH,
            url=server.base_url + "/predict",
            body=rows.head(1).json_single(),
            rows=1,
            shape=shape,
        )
        figures += measure_batches(
            server, model, rows, sizes=sizes, repeats=repeats, csv=True, path=JSON_PATH
        )
        memory = server.rss_by_process_mb()
        figures.append(
            Figure(
                model,
                "scorer-api-plus-jvm",
                RSS_MB,
                server.rss_mb(),
                "MB",
                rows=max(sizes),
                note="VmRSS of uvicorn and its descendants after the largest batch",
            )
        )
    return figures, memory


def measure_trivial(
    rows: BenchRows,
    work_dir: Path,
    *,
    sizes: list[int],
    shape: LoadShape,
    repeats: int,
    model: str,
) -> list[Figure]:
    """The framework's ceiling, loaded exactly like the scorer."""
    port = free_port()
    command = [sys.executable, "-m", "bench.trivial_app", str(port)]
    with serve(
        command,
        port=port,
        ready_path="/health/ready",
        log_path=work_dir / "trivial.log",
    ) as server:
        figures = measure_load(
            model=model,
            path=TRIVIAL_PATH,
            url=server.base_url + "/predict",
            body=rows.head(1).json_single(),
            rows=1,
            shape=shape,
        )
        figures += measure_batches(
            server,
            model,
            rows,
            sizes=sizes,
            repeats=repeats,
            csv=False,
            path=TRIVIAL_PATH,
        )
    return figures


def measure_in_process(
    model: str,
    model_dir: Path,
    rows: BenchRows,
    *,
    sizes: list[int],
    repeats: int,
    class_cache_dir: Path,
) -> list[Figure]:
    """``MojoScorer`` called directly: the cost of the bridge without HTTP."""
    figures = []
    with MojoScorer.open(model_dir, class_cache_dir=class_cache_dir) as scorer:
        for size in sizes:
            batch = rows.head(size)
            reps = repeats_for(size, repeats)
            columns = batch.columns

            csv_body = batch.csv_bytes()

            def by_columns(columns: ColumnMap = columns, n: int = size) -> object:
                return scorer.score_columns(columns, n)

            def by_csv(body: bytes = csv_body) -> object:
                return scorer.score_csv(body)

            figures.append(
                time_call(
                    by_columns, model=model, path=COLUMNS_PATH, rows=size, repeats=reps
                )
            )
            figures.append(
                time_call(
                    by_csv,
                    model=model,
                    path=INPROCESS_CSV_PATH,
                    rows=size,
                    repeats=reps,
                )
            )
    return figures
