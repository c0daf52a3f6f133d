"""MLflow registry lookups and the local model cache.

The scorer asks the registry which version the alias names, downloads only
the three files it reads (the MOJO, the genmodel jar, the JSON schema) into a
cache keyed by model name and version, and records the last version that
loaded and passed its smoke test in a ``current`` pointer, so that a scorer
started while the registry is down can serve that one. Nothing downloaded is
ever unpickled, and no downloaded path may leave the cache folder.

:class:`ModelRegistry` asks through MLflow's client, imported on first use.
The scorer process itself only uses its cache methods and
:meth:`ModelRegistry.fetch_from_folder`, which copies a version whose artifacts
sit in a local folder without MLflow; its other lookups and downloads go
through :mod:`serving.registry_process`, which keeps MLflow in a child
process. Both ways of filling the cache share the same walk of the artifact
tree, checks and staging folder.

Cache layout::

    <cache_dir>/<quoted model name>/
        current                  JSON: the last good version
        versions/<version>/      model.zip, h2o-genmodel.jar, model_schema.json,
                                 provenance.json
        .staging-*/              downloads in progress (renamed when complete)
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import orjson

from serving.model_schema import GENMODEL_JAR_NAME, MOJO_FILE_NAME, SCHEMA_FILE_NAME

logger = logging.getLogger(__name__)

MODEL_FILES = (MOJO_FILE_NAME, GENMODEL_JAR_NAME, SCHEMA_FILE_NAME)
PROVENANCE_FILE = "provenance.json"
POINTER_FILE = "current"
# A model's artifacts are a few folders deep; a deeper tree is not a model.
_MAX_DEPTH = 6
_MAX_ENTRIES = 500
_SQLITE_PREFIX = "sqlite:///"


class RegistryUnavailableError(Exception):
    """The registry cannot be reached, or it does not know the model reference."""


class ModelCacheError(Exception):
    """The cache folder cannot be written, or a download would escape it."""


class ArtifactLayoutError(Exception):
    """The registered artifacts do not hold exactly one of each model file."""


@dataclass(frozen=True)
class VersionRef:
    """One registered model version, as the registry describes it."""

    name: str
    version: str
    alias: str | None
    run_id: str | None


class ModelRegistry:
    """Resolves the configured reference and keeps downloaded versions in a cache."""

    def __init__(
        self,
        tracking_uri: str,
        model_name: str,
        *,
        alias: str | None,
        version: str | None,
        cache_dir: Path,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.alias = None if version is not None else alias
        self.version = version
        self.cache_root = cache_dir
        self._model_cache = cache_dir / _path_component(model_name)

    def resolve(self) -> VersionRef:
        """Ask the registry which version the alias (or the fixed version) names."""
        try:
            client = self._client()
            if self.version is not None:
                found = client.get_model_version(self.model_name, self.version)
            else:
                found = client.get_model_version_by_alias(self.model_name, self.alias)
        except RegistryUnavailableError:
            raise
        except Exception as exc:
            # MLflow raises its own, SQLAlchemy's and import errors (a missing
            # database driver) here; all mean "no answer".
            raise RegistryUnavailableError(
                f"The registry at {self.tracking_uri} could not resolve "
                f"{self._reference()}: {_first_line(exc)}"
            ) from exc
        return VersionRef(
            name=self.model_name,
            version=str(found.version),
            alias=self.alias,
            run_id=found.run_id or None,
        )

    def cached_folder(self, ref: VersionRef) -> Path | None:
        """The cached folder of ``ref`` when all its files are there, else None."""
        target = self._version_dir(ref.version)
        if all((target / name).is_file() for name in (*MODEL_FILES, PROVENANCE_FILE)):
            return target
        return None

    def fetch(self, ref: VersionRef) -> Path:
        """The cached folder of ``ref``; its three files are downloaded if missing."""
        return self._fill(
            ref, self.tracking_uri, lambda staging: self._download(ref, staging)
        )

    def fetch_from_folder(self, ref: VersionRef, folder: Path) -> Path:
        """The cached folder of ``ref``; copied from ``folder`` if missing.

        Args:
            folder: the version's artifact folder on this machine, as its store
                records it; nothing outside it is read.
        """
        return self._fill(
            ref, str(folder), lambda staging: _copy_from_folder(ref, folder, staging)
        )

    def _fill(
        self, ref: VersionRef, origin: str, write_files: Callable[[Path], None]
    ) -> Path:
        """The cached folder of ``ref``, filled by ``write_files`` if missing.

        The files land in a staging folder that is renamed into place once
        they are all there, so a version is cached completely or not at all.
        """
        cached = self.cached_folder(ref)
        if cached is not None:
            logger.info("model %s version %s found in cache", ref.name, ref.version)
            return cached
        target = self._version_dir(ref.version)

        staging = self._make_staging_dir()
        try:
            write_files(staging)
            _write_json(staging / PROVENANCE_FILE, asdict(ref))
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        except OSError as exc:
            raise ModelCacheError(
                f"Could not write model {ref.name} version {ref.version} into the "
                f"cache {self._model_cache}: {exc}. Make the folder writable or set "
                f"SERVING_CACHE_DIR to a writable folder."
            ) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        logger.info(
            "model %s version %s cached in %s from %s",
            ref.name,
            ref.version,
            target,
            origin,
        )
        return target

    def remember_good(self, ref: VersionRef) -> None:
        """Point ``current`` at ``ref``: what a start without registry serves."""
        pointer = self._model_cache / POINTER_FILE
        try:
            _write_json(pointer, asdict(ref))
        except OSError as exc:
            raise ModelCacheError(
                f"Could not record the last good version in {pointer}: {exc}. Make "
                f"the folder writable or set SERVING_CACHE_DIR to a writable folder."
            ) from exc

    def last_good(self) -> tuple[VersionRef, Path] | None:
        """The version the ``current`` pointer names and its folder, if both exist."""
        pointer = self._model_cache / POINTER_FILE
        try:
            ref = VersionRef(**orjson.loads(pointer.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError, TypeError) as exc:
            logger.warning("ignoring unreadable cache pointer %s: %s", pointer, exc)
            return None
        folder = self._version_dir(ref.version)
        if not all((folder / name).is_file() for name in MODEL_FILES):
            logger.warning(
                "cache pointer %s names a missing folder %s", pointer, folder
            )
            return None
        return ref, folder

    def _client(self) -> Any:
        database = sqlite_database(self.tracking_uri)
        # MLflow would create an empty database at a wrong path; refuse instead.
        if database is not None and not database.is_file():
            raise RegistryUnavailableError(
                f"No MLflow database at {database} (from {self.tracking_uri}); "
                f"train a model first or set SERVING_TRACKING_URI."
            )
        # Imported on first use: a scorer serving a local folder never pays for it.
        from mlflow import MlflowClient  # noqa: PLC0415

        return MlflowClient(
            tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
        )

    def _download(self, ref: VersionRef, staging: Path) -> None:
        from mlflow.store.artifact.artifact_repository_registry import (  # noqa: PLC0415
            get_artifact_repository,
        )

        try:
            client = self._client()
            root_uri = client.get_model_version_download_uri(ref.name, ref.version)
            repository = get_artifact_repository(
                root_uri, tracking_uri=self.tracking_uri
            )
            _copy_model_files(repository, staging)
        except (RegistryUnavailableError, ArtifactLayoutError, ModelCacheError):
            raise
        except Exception as exc:
            raise RegistryUnavailableError(
                f"Downloading {ref.name} version {ref.version} from "
                f"{self.tracking_uri} failed: {_first_line(exc)}"
            ) from exc

    def _make_staging_dir(self) -> Path:
        try:
            self._model_cache.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=".staging-", dir=self._model_cache))
        except OSError as exc:
            raise ModelCacheError(
                f"Could not create the model cache folder {self._model_cache}: {exc}. "
                f"Make it writable or set SERVING_CACHE_DIR to a writable folder."
            ) from exc

    def _version_dir(self, version: str) -> Path:
        return _inside(
            self._model_cache / "versions" / _path_component(version), self.cache_root
        )

    def _reference(self) -> str:
        if self.version is not None:
            return f"models:/{self.model_name}/{self.version}"
        return f"models:/{self.model_name}@{self.alias}"


def sqlite_database(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, None for other stores."""
    if not tracking_uri.startswith(_SQLITE_PREFIX):
        return None
    return Path(tracking_uri.removeprefix(_SQLITE_PREFIX))


@dataclass(frozen=True)
class _LocalEntry:
    path: str
    is_dir: bool


class LocalArtifacts:
    """A version's artifact folder on this machine, read the way MLflow reads one.

    It answers the two calls :func:`_copy_model_files` makes of MLflow's
    artifact repository. A path that resolves outside the folder (a symlink
    out of it) is refused, never followed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def list_artifacts(self, path: str | None = None) -> list[_LocalEntry]:
        """The entries of the folder ``path`` (the root when None)."""
        folder = PurePosixPath(path or "")
        return [
            _LocalEntry(str(folder / entry.name), entry.is_dir())
            for entry in self._resolve(str(folder)).iterdir()
        ]

    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        """Copy one file to ``dst_path``/``artifact_path``; where the copy is."""
        target = Path(dst_path) / artifact_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._resolve(artifact_path), target)
        return str(target)

    def _resolve(self, artifact_path: str) -> Path:
        return _inside(self.root / artifact_path, self.root)


def _copy_from_folder(ref: VersionRef, folder: Path, staging: Path) -> None:
    try:
        _copy_model_files(LocalArtifacts(folder), staging)
    except OSError as exc:
        raise RegistryUnavailableError(
            f"Copying {ref.name} version {ref.version} from its artifact folder "
            f"{folder} failed: {exc}"
        ) from exc


def _copy_model_files(repository: Any, staging: Path) -> None:
    """Put the one copy of each model file in ``repository`` into ``staging``."""
    found = _find_model_files(repository)
    # Downloads keep their artifact paths; flatten them, then drop the tree.
    landing = staging / ".download"
    landing.mkdir()
    for name, artifact_path in found.items():
        downloaded = repository.download_artifacts(artifact_path, str(landing))
        _move_inside(Path(str(downloaded)), landing, staging / name)
    shutil.rmtree(landing)


def _find_model_files(repository: Any) -> dict[str, str]:
    """Map each model file name to its one artifact path, or ArtifactLayoutError."""
    found = _walk_for_model_files(repository)

    missing = [name for name, paths in found.items() if not paths]
    if missing:
        raise ArtifactLayoutError(
            f"The model artifacts lack {', '.join(missing)}; register a version "
            f"logged by the training job (python -m training)."
        )
    for name, paths in found.items():
        if len(paths) > 1:
            raise ArtifactLayoutError(
                f"The model artifacts hold {name} more than once "
                f"({', '.join(sorted(paths))}); the scorer cannot tell which to "
                f"serve. Register a version with one of each model file, as the "
                f"training job logs it (python -m training)."
            )
    return {name: paths[0] for name, paths in found.items()}


def _walk_for_model_files(repository: Any) -> dict[str, list[str]]:
    """Every artifact path of each model file name, within the depth and size bounds."""
    found: dict[str, list[str]] = {name: [] for name in MODEL_FILES}
    pending: list[tuple[str, int]] = [("", 0)]
    seen = 0
    while pending:
        folder, depth = pending.pop()
        for info in repository.list_artifacts(folder or None):
            seen += 1
            if seen > _MAX_ENTRIES:
                raise ArtifactLayoutError(
                    f"The model artifacts hold more than {_MAX_ENTRIES} entries; "
                    f"that is not a MOJO model folder."
                )
            path = _safe_relative(info.path)
            if info.is_dir:
                if depth < _MAX_DEPTH:
                    pending.append((path, depth + 1))
            elif PurePosixPath(path).name in found:
                found[PurePosixPath(path).name].append(path)
    return found


def _safe_relative(path: str) -> str:
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise ModelCacheError(f"Refusing artifact path {path!r}: it leaves the cache.")
    return str(pure)


def _move_inside(local: Path, staging: Path, target: Path) -> None:
    """Move a downloaded file into place after checking it stayed in ``staging``."""
    if local.is_symlink() or not local.is_file():
        raise ModelCacheError(f"Refusing downloaded entry {local}: not a regular file.")
    _inside(local, staging)
    if local != target:
        os.replace(local, target)


def _inside(path: Path, root: Path) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ModelCacheError(f"Refusing path {path}: it resolves outside {root}.")
    return path


def _path_component(value: str) -> str:
    component = quote(value, safe="")
    if component in {"", ".", ".."}:
        raise ModelCacheError(f"{value!r} cannot name a cache folder.")
    return component


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(orjson.dumps(data))
    os.replace(partial, path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
