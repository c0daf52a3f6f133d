"""Artifact paths from a hostile registry cannot escape the scorer's cache folder.

A small HTTP server speaks the MLflow artifact protocol (list and download)
and lists the model files under paths that climb out of the cache: ``..``
segments, absolute paths, percent-encoded dots, backslashes. Versions whose
source points at it are registered and aliased; the scorer must refuse them,
keep serving the good version, and leave nothing outside its cache.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from bench.reliability_faults import ADMIN_TOKEN, served_version
from bench.reliability_registry import PrivateRegistry
from bench.reliability_scorer import StartScorer
from serving.model_schema import GENMODEL_JAR_NAME, MOJO_FILE_NAME, SCHEMA_FILE_NAME

_LIST = "/api/2.0/mlflow-artifacts/artifacts"
MODEL_FILES = (MOJO_FILE_NAME, GENMODEL_JAR_NAME, SCHEMA_FILE_NAME)


def hostile_layouts(outside: Path) -> dict[str, str]:
    """Layout name -> the prefix the server puts before each model file's name."""
    climb = "../" * 3
    return {
        "dot-dot segments": f"{climb}{outside.name}/",
        "absolute path": f"{outside}/",
        "percent-encoded dot-dots": climb.replace(".", "%2e") + f"{outside.name}/",
        "backslashes": climb.replace("/", "\\") + f"{outside.name}\\",
    }


class HostileArtifactServer:
    """Lists the model files under hostile paths and serves their bytes to anyone."""

    def __init__(self, files: dict[str, bytes], layouts: dict[str, str]) -> None:
        self.files = files
        self.layouts = layouts
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                body, status = server.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def source(self, layout: str) -> str:
        """The artifact URI of one layout, to register as a version's source."""
        key = list(self.layouts).index(layout)
        return f"http://127.0.0.1:{self.port}{_LIST}/layout{key}"

    def answer(self, path: str) -> tuple[bytes, int]:
        """A listing for the layout asked about, or the bytes of a model file."""
        parts = urlsplit(path)
        if parts.path == _LIST:
            root = parse_qs(parts.query).get("path", [""])[0]
            key = int(root.removeprefix("layout").split("/")[0] or 0)
            prefix = list(self.layouts.values())[key]
            files = [
                {"path": prefix + name, "is_dir": False, "file_size": len(content)}
                for name, content in self.files.items()
            ]
            return json.dumps({"files": files}).encode(), 200
        for name, content in self.files.items():
            if path.endswith(name):
                return content, 200
        return b"{}", 404

    def __enter__(self) -> HostileArtifactServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()


def artifact_paths_confined(
    start_scorer: StartScorer, registry: PrivateRegistry, folder: Path
) -> dict[str, object]:
    """Alias versions with hostile artifact paths; nothing may leave the cache."""
    outside = folder / "outside"
    outside.mkdir(parents=True, exist_ok=True)
    cache = folder / "cache"
    registry.move_alias(registry.first_version)
    scorer = start_scorer(
        **registry.scorer_settings(),
        cache_dir=cache,
        admin_token=ADMIN_TOKEN,
        poll_interval_s=3600,
    )
    layouts = hostile_layouts(outside)
    outcomes = []
    with HostileArtifactServer(registry.model_files(), layouts) as server:
        for layout in layouts:
            version = str(
                registry.client.create_model_version(
                    registry.model_name, server.source(layout)
                ).version
            )
            registry.move_alias(version)
            reload = httpx.post(
                f"{scorer.base_url}/admin/reload",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                timeout=60,
            )
            outcomes.append(
                {
                    "layout": layout,
                    "version": version,
                    "reload_status": reload.status_code,
                    "reload_error": reload.json().get("error", {}).get("message"),
                    "still_serving": served_version(scorer),
                }
            )
        requests = len(server.requests)
    registry.move_alias(registry.first_version)
    time.sleep(0.2)
    escaped = [
        str(path)
        for path in folder.rglob("*")
        if path.name in MODEL_FILES and not path.is_relative_to(cache)
    ]
    escaped += [str(path) for path in outside.rglob("*")]
    return {
        "layouts": outcomes,
        "artifact_server_requests": requests,
        "files_outside_cache": escaped,
        "passed": not escaped
        and requests > 0
        and all(
            o["reload_status"] != 200 and o["still_serving"] == registry.first_version
            for o in outcomes
        ),
    }
