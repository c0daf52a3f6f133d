"""The registry as the scorer sees it: MLflow's client kept out of its process.

Importing MLflow and opening its store would add about 160 MB of resident
memory to the scorer for good, and 1-2 s to its start. So:

- against an MLflow server, resolving the alias is one REST GET
  (:mod:`serving.registry_rest`);
- against a SQLite store, it is one read-only query of the database file
  (:mod:`serving.registry_sqlite`);
- other stores, and whatever that query cannot tell, are asked of MLflow's
  client in a short-lived child process (:mod:`serving.registry_worker`); on
  SQLite its answer is reused until the database file changes;
- a version missing from the cache is copied from its artifact folder when
  a SQLite store records it as a local one (the embedded default store), and
  downloaded by a child otherwise;
- the cache pointer (``current``) is read and written here; it needs no MLflow.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

import serving
from serving import affinity
from serving.registry import (
    ArtifactLayoutError,
    ModelCacheError,
    ModelRegistry,
    RegistryUnavailableError,
    VersionRef,
    sqlite_database,
)
from serving.registry_rest import is_rest_uri, resolve_over_rest
from serving.registry_sqlite import local_artifact_folder, resolve_from_sqlite

logger = logging.getLogger(__name__)

RESOLVE_DEADLINE_S = 120.0
FETCH_DEADLINE_S = 600.0
_ERRORS: dict[str, type[Exception]] = {
    "RegistryUnavailableError": RegistryUnavailableError,
    "ModelCacheError": ModelCacheError,
    "ArtifactLayoutError": ArtifactLayoutError,
}
# (suffix, mtime in ns, size) of a SQLite database file and its journals.
DatabaseStamp = tuple[tuple[str, int, int], ...]


class OutOfProcessRegistry:
    """Same questions as :class:`ModelRegistry`, answered without importing MLflow.

    Args:
        timeout_s: bound of one HTTP call to an MLflow server, and of the wait
            for a SQLite writer's lock.
        retries: further tries of an HTTP call that got no answer.
    """

    def __init__(
        self,
        tracking_uri: str,
        model_name: str,
        *,
        alias: str | None,
        version: str | None,
        cache_dir: Path,
        timeout_s: float = 10.0,
        retries: int = 2,
    ) -> None:
        self._cache = ModelRegistry(
            tracking_uri, model_name, alias=alias, version=version, cache_dir=cache_dir
        )
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.alias = self._cache.alias
        self.version = version
        self._timeout_s = timeout_s
        self._retries = retries
        self._child_answer: tuple[DatabaseStamp, dict[str, Any]] | None = None

    def resolve(self) -> VersionRef:
        """Ask the registry which version the alias (or the fixed version) names."""
        if is_rest_uri(self.tracking_uri):
            return resolve_over_rest(
                self.tracking_uri,
                self.model_name,
                alias=self.alias,
                version=self.version,
                timeout_s=self._timeout_s,
                retries=self._retries,
            )
        database = sqlite_database(self.tracking_uri)
        if database is None:
            return _ref(self._run_child({"op": "resolve"}, RESOLVE_DEADLINE_S))
        found = resolve_from_sqlite(
            database,
            self.model_name,
            alias=self.alias,
            version=self.version,
            timeout_s=self._timeout_s,
        )
        return found or self._resolve_once_per_change(database)

    def fetch(self, ref: VersionRef) -> Path:
        """The cached folder of ``ref``; copied or downloaded by a child if missing."""
        cached = self._cache.cached_folder(ref)
        if cached is not None:
            logger.info("model %s version %s found in cache", ref.name, ref.version)
            return cached
        folder = self._local_artifact_folder(ref)
        if folder is not None:
            return self._cache.fetch_from_folder(ref, folder)
        request = {"op": "fetch", "ref": asdict(ref)}
        answer = _unwrap(self._run_child(request, FETCH_DEADLINE_S))
        return Path(answer["folder"])

    def remember_good(self, ref: VersionRef) -> None:
        """Point ``current`` at ``ref``: what a start without registry serves."""
        self._cache.remember_good(ref)

    def last_good(self) -> tuple[VersionRef, Path] | None:
        """The version the ``current`` pointer names and its folder, if both exist."""
        return self._cache.last_good()

    def _local_artifact_folder(self, ref: VersionRef) -> Path | None:
        """The local folder a SQLite store records for ``ref``'s artifacts, if any."""
        database = sqlite_database(self.tracking_uri)
        if database is None:
            return None
        return local_artifact_folder(
            database, ref.name, ref.version, timeout_s=self._timeout_s
        )

    def _resolve_once_per_change(self, database: Path) -> VersionRef:
        """The child's answer (or error), asked again once the database changed."""
        # Stamped before the child reads: a write during its run changes the stamp.
        stamp = _database_stamp(database)
        if not stamp or self._child_answer is None or self._child_answer[0] != stamp:
            answer = self._run_child({"op": "resolve"}, RESOLVE_DEADLINE_S)
            self._child_answer = (stamp, answer)
        return _ref(self._child_answer[1])

    def _run_child(self, request: dict[str, Any], deadline_s: float) -> dict[str, Any]:
        """Run one request in a registry helper process; its JSON answer."""
        request = {
            **request,
            "tracking_uri": self.tracking_uri,
            "model_name": self.model_name,
            "alias": self.alias,
            "version": self.version,
            "cache_dir": str(self._cache.cache_root),
        }
        command = [
            sys.executable,
            "-m",
            "serving.registry_worker",
            orjson.dumps(request).decode(),
        ]
        try:
            with affinity.every_cpu():
                done = subprocess.run(
                    command,
                    capture_output=True,
                    timeout=deadline_s,
                    env=self._child_environment(),
                    check=False,
                )
        except subprocess.TimeoutExpired as exc:
            raise RegistryUnavailableError(
                f"The registry at {self.tracking_uri} did not answer a "
                f"{request['op']} within {deadline_s:.0f} s."
            ) from exc
        except OSError as exc:
            raise RegistryUnavailableError(
                f"Could not start the registry helper process: {exc}"
            ) from exc

        level = logging.INFO if done.returncode == 0 else logging.WARNING
        for line in done.stderr.decode(errors="replace").splitlines():
            logger.log(level, "registry helper: %s", line)
        try:
            answer: dict[str, Any] = orjson.loads(done.stdout.splitlines()[-1])
        except (IndexError, orjson.JSONDecodeError) as exc:
            raise RegistryUnavailableError(
                f"The registry helper process failed (exit code {done.returncode}); "
                f"its messages are in the log above."
            ) from exc
        return answer

    def _child_environment(self) -> dict[str, str]:
        """This environment, with ``serving`` importable and MLflow's HTTP bounded.

        MLflow reads its HTTP timeout and retries only from the environment;
        values the operator set in MLFLOW_HTTP_REQUEST_* themselves win.
        """
        env = dict(os.environ)
        env.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(self._timeout_s)))
        env.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(self._retries))
        package_root = str(Path(serving.__file__).resolve().parent.parent)
        paths = [
            package_root,
            *filter(None, env.get("PYTHONPATH", "").split(os.pathsep)),
        ]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        return env


def _unwrap(answer: dict[str, Any]) -> dict[str, Any]:
    """The child's answer, or the error it reported raised as ours."""
    if "error" in answer:
        error = _ERRORS.get(answer["error"], RegistryUnavailableError)
        raise error(answer["message"])
    return answer


def _ref(answer: dict[str, Any]) -> VersionRef:
    return VersionRef(**_unwrap(answer)["ref"])


def _database_stamp(database: Path) -> DatabaseStamp:
    """Modification time and size of the database and its journals; () if none."""
    stamp = []
    for suffix in ("", "-wal", "-journal"):
        try:
            status = database.with_name(database.name + suffix).stat()
        except OSError:
            continue
        stamp.append((suffix, status.st_mtime_ns, status.st_size))
    return tuple(stamp)
