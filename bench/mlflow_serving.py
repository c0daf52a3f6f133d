"""MLflow's own serving: ``mlflow models serve --env-manager local``.

Two models: the registered pyfunc (the training job's, scoring through the
project's genmodel runtime) and the same leader logged with ``mlflow.h2o``
(which starts a full H2O cluster inside the server). Both are loaded the same
way as the scorer: single rows at a few concurrencies, then one request per
batch size, as JSON (``dataframe_split``) and CSV.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import httpx

from bench.batches import http_poster, repeats_for, time_call
from bench.loadgen import LoadShape, measure_load
from bench.results import RSS_MB, START_TO_READY, Figure
from bench.rows import BenchRows
from bench.servers import free_port, serve

logger = logging.getLogger(__name__)

PYFUNC = "mlflow-serve-pyfunc"
H2O_FLAVOUR = "mlflow-serve-h2o"


def measure_mlflow_serve(
    *,
    model: str,
    path: str,
    model_uri: str,
    tracking_uri: str,
    rows: BenchRows,
    sizes: list[int],
    shape: LoadShape,
    repeats: int,
    work_dir: Path,
) -> list[Figure]:
    """Serve ``model_uri`` with MLflow's scoring server and measure it."""
    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "MLFLOW_TRACKING_URI": tracking_uri,
        # mlflow execs `uvicorn` by name: the venv's must come first
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "--env-manager",
        "local",
        "-m",
        model_uri,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    figures: list[Figure] = []
    with serve(
        command,
        port=port,
        ready_path="/ping",
        log_path=work_dir / f"{path}-{model}.log",
        env=env,
        timeout_s=300,
    ) as server:
        figures.append(
            Figure(model, path, START_TO_READY, server.start_to_ready_s, "s")
        )
        url = server.base_url + "/invocations"
        figures += measure_load(
            model=model,
            path=path,
            url=url,
            body=rows.head(1).mlflow_split(),
            rows=1,
            shape=shape,
        )
        with httpx.Client(timeout=600.0) as client:
            for size in sizes:
                batch = rows.head(size)
                call = http_poster(
                    client,
                    url,
                    content=batch.mlflow_split(),
                    headers={"Content-Type": "application/json"},
                )
                figures.append(
                    time_call(
                        call,
                        model=model,
                        path=path,
                        rows=size,
                        repeats=repeats_for(size, repeats),
                        note="JSON dataframe_split",
                    )
                )
                call = http_poster(
                    client,
                    url,
                    content=batch.csv_bytes(),
                    headers={"Content-Type": "text/csv"},
                )
                figures.append(
                    time_call(
                        call,
                        model=model,
                        path=f"{path}-csv",
                        rows=size,
                        repeats=repeats_for(size, repeats),
                        note="CSV body",
                    )
                )
        figures.append(Figure(model, path, RSS_MB, server.rss_mb(), "MB"))
    return figures
