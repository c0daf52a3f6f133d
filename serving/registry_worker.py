"""One registry lookup or download, run in a child process of the scorer.

MLflow's client costs the process that imports it about 160 MB of resident
memory (its modules, SQLAlchemy, the store), kept until the process ends. The
scorer needs it rarely: to download a version missing from its cache whose
artifacts are not in a local folder it can copy from, or for a lookup its own
REST call or SQLite read cannot answer. So it runs
:class:`ModelRegistry` here, in a short-lived child, and stays small. The
child answers with one JSON line on stdout::

    {"ref": {...}}                      resolve
    {"folder": "/path/to/version"}      fetch
    {"error": "RegistryUnavailableError", "message": "..."}

Usage (by :mod:`serving.registry_process`, not by people)::

    python -m serving.registry_worker '{"op": "resolve", "tracking_uri": ..., ...}'
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from serving.registry import (
    ArtifactLayoutError,
    ModelCacheError,
    ModelRegistry,
    RegistryUnavailableError,
    VersionRef,
)

logger = logging.getLogger(__name__)

KNOWN_ERRORS = (RegistryUnavailableError, ModelCacheError, ArtifactLayoutError)


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Carry out one request; registry errors become an ``error`` answer."""
    registry = ModelRegistry(
        request["tracking_uri"],
        request["model_name"],
        alias=request.get("alias"),
        version=request.get("version"),
        cache_dir=Path(request["cache_dir"]),
    )
    try:
        if request["op"] == "resolve":
            return {"ref": asdict(registry.resolve())}
        if request["op"] == "fetch":
            folder = registry.fetch(VersionRef(**request["ref"]))
            return {"folder": str(folder)}
    except KNOWN_ERRORS as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    raise ValueError(f"unknown registry operation {request['op']!r}")


def main(argv: list[str]) -> int:
    """Read the request from argv[0], print the answer; 0 unless it crashed."""
    # The parent forwards these lines to its own log.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    answer = run(orjson.loads(argv[0]))
    sys.stdout.write(orjson.dumps(answer).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
