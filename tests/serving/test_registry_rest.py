"""Alias lookups over REST against a real ``mlflow server`` (about 5 s to start).

The server runs on a private copy of the session's store; the tests compare
its answers with the SQLite read of that same database file.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.reliability_registry import ModelSource, PrivateRegistry
from ops.commands import mlflow_server
from ops.processes import child_environment, stop_group
from serving.model_schema import MOJO_FILE_NAME
from serving.registry import RegistryUnavailableError, VersionRef, sqlite_database
from serving.registry_process import OutOfProcessRegistry
from serving.registry_rest import resolve_over_rest
from serving.registry_sqlite import resolve_from_sqlite
from tests.fixtures.environment import free_port

_SERVER_START_TIMEOUT_S = 60


@dataclass(frozen=True)
class MlflowServer:
    """A running ``mlflow server`` and the private store behind it."""

    url: str
    store: PrivateRegistry

    def direct_read(self, *, alias: str | None, version: str | None) -> VersionRef:
        """What the SQLite file says, for comparison."""
        database = sqlite_database(self.store.tracking_uri)
        assert database is not None
        found = resolve_from_sqlite(
            database,
            self.store.model_name,
            alias=alias,
            version=version,
            timeout_s=5,
        )
        assert found is not None
        return found


@pytest.fixture(scope="module")
def mlflow_rest_server(
    model_source: ModelSource, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowServer]:
    """``mlflow server`` on 127.0.0.1 over a private copy of the session's store."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    store = PrivateRegistry(model_source, folder / "store")
    port = free_port()
    command = mlflow_server(
        host="127.0.0.1",
        port=port,
        backend_store_uri=store.tracking_uri,
        artifacts_destination=str(folder / "artifacts"),
    )
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            command.with_interpreter(sys.executable),
            env=child_environment(command.environment),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process, folder / "server.log")
        yield MlflowServer(url, store)
    finally:
        stop_group(process.pid, timeout_s=15, process=process)


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"mlflow server not healthy within {_SERVER_START_TIMEOUT_S} s")


@pytest.mark.parametrize(
    ("alias", "version"), [("production", None), (None, "1")], ids=["alias", "version"]
)
def test_rest_answers_what_the_database_holds(
    mlflow_rest_server: MlflowServer, alias: str | None, version: str | None
) -> None:
    found = resolve_over_rest(
        mlflow_rest_server.url,
        mlflow_rest_server.store.model_name,
        alias=alias,
        version=version,
        timeout_s=10,
        retries=0,
    )

    assert found == mlflow_rest_server.direct_read(alias=alias, version=version)
    assert found.run_id is not None


def test_rest_follows_a_moved_alias(mlflow_rest_server: MlflowServer) -> None:
    store = mlflow_rest_server.store
    newest = store.copy_version()

    store.move_alias(newest)
    found = resolve_over_rest(
        mlflow_rest_server.url + "/",
        store.model_name,
        alias="production",
        version=None,
        timeout_s=10,
        retries=0,
    )

    assert found.version == newest


def test_unknown_alias_is_unavailable_with_the_servers_message(
    mlflow_rest_server: MlflowServer,
) -> None:
    name = mlflow_rest_server.store.model_name
    with pytest.raises(
        RegistryUnavailableError,
        match=rf"models:/{name}@staging: HTTP 400: Registered model alias staging not",
    ):
        resolve_over_rest(
            mlflow_rest_server.url,
            name,
            alias="staging",
            version=None,
            timeout_s=10,
            retries=2,
        )


def test_server_not_listening_is_unavailable_after_its_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()

    with pytest.raises(RegistryUnavailableError, match=f"registry at {url}.*refused"):
        resolve_over_rest(
            url, "m", alias="production", version=None, timeout_s=2, retries=2
        )

    # Two pauses, 0.5 s and 1 s: connection refused itself is immediate.
    assert 1.4 < time.monotonic() - started < 10


def test_scorer_registry_resolves_over_rest_and_downloads_in_a_child(
    mlflow_rest_server: MlflowServer, tmp_path: Path
) -> None:
    registry = OutOfProcessRegistry(
        mlflow_rest_server.url,
        mlflow_rest_server.store.model_name,
        alias="production",
        version=None,
        cache_dir=tmp_path / "cache",
    )

    ref = registry.resolve()
    folder = registry.fetch(ref)

    assert ref == mlflow_rest_server.direct_read(alias="production", version=None)
    assert (folder / MOJO_FILE_NAME).read_bytes() == (
        mlflow_rest_server.store.model_dir / MOJO_FILE_NAME
    ).read_bytes()
