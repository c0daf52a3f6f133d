"""The command of each service, defined once for the local stack and for compose.

``make demo`` runs these commands as subprocesses on 127.0.0.1; each service of
``docker-compose.yml`` runs the same argument list with container values (host
0.0.0.0, paths under /data), which ``tests/stack/test_compose.py`` checks.
Every command starts with ``python -m``: the local stack puts the virtual
environment's interpreter in place of ``python``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PYTHON = "python"
UI_SCRIPT = "ui/app.py"


@dataclass(frozen=True)
class Command:
    """An argument list and the environment variables it needs."""

    argv: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict)

    def with_interpreter(self, interpreter: str) -> tuple[str, ...]:
        """The argument list with ``python`` replaced by the given interpreter."""
        if self.argv[0] != PYTHON:
            return self.argv
        return (interpreter, *self.argv[1:])


def mlflow_server(
    *, host: str, port: int, backend_store_uri: str, artifacts_destination: str
) -> Command:
    """MLflow's tracking server and UI on a SQLite store, serving the artifacts."""
    argv = (
        PYTHON,
        "-m",
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        backend_store_uri,
        "--serve-artifacts",
        "--artifacts-destination",
        artifacts_destination,
    )
    # The job runner (a huey consumer pool) is for GenAI jobs this project never
    # runs; off, the server starts in about 5 s instead of 20 with two processes.
    return Command(argv, {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})


def scorer(
    *,
    host: str,
    port: int,
    tracking_uri: str,
    model_name: str,
    model_alias: str,
    cache_dir: str,
    java_classes_dir: str,
    poll_interval_s: float,
) -> Command:
    """The FastAPI scorer (``python -m serving``), configured by ``SERVING_*``."""
    environment = {
        "SERVING_HOST": host,
        "SERVING_PORT": str(port),
        "SERVING_TRACKING_URI": tracking_uri,
        "SERVING_MODEL_NAME": model_name,
        "SERVING_MODEL_ALIAS": model_alias,
        "SERVING_CACHE_DIR": cache_dir,
        "SERVING_JAVA_CLASSES_DIR": java_classes_dir,
        "SERVING_POLL_INTERVAL_S": f"{poll_interval_s:g}",
    }
    return Command((PYTHON, "-m", "serving"), environment)


def ui(*, host: str, port: int, scorer_url: str) -> Command:
    """The Streamlit page, which talks to the scorer only (``UI_SCORER_URL``)."""
    argv = (
        PYTHON,
        "-m",
        "streamlit",
        "run",
        UI_SCRIPT,
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    )
    return Command(argv, {"UI_SCORER_URL": scorer_url})


def trainer(
    *,
    tracking_uri: str,
    artifact_root: str | None,
    model_name: str,
    h2o_port: int,
    extra_args: Sequence[str] = (),
) -> Command:
    """The training job (``python -m training``), on the demo table by default.

    Against a tracking server (compose), ``artifact_root`` is None: the server
    then stores the artifacts itself (``--serve-artifacts``).
    """
    environment = {
        "TRAINING_TRACKING_URI": tracking_uri,
        "TRAINING_MODEL_NAME": model_name,
        "TRAINING_H2O_PORT": str(h2o_port),
    }
    if artifact_root is not None:
        environment["TRAINING_ARTIFACT_ROOT"] = artifact_root
    return Command((PYTHON, "-m", "training", *extra_args), environment)
