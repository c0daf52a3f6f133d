"""Which version an alias names, and where its files are, read from a SQLite store.

Asking MLflow's client costs a child process about 1.7 s and 230 MB (it
imports MLflow and SQLAlchemy and checks the schema migrations first); the
answer is one row. So the scorer reads that row itself, read-only, from the
two tables MLflow's registry keeps, ``registered_model_aliases`` and
``model_versions``, in the ``default`` workspace: the only one a
single-tenant store uses. Whenever this read cannot answer (a schema without
those columns, no such row, the alias ``latest``, a locked or missing file),
the caller asks MLflow's own client instead, so a schema change costs time,
never a wrong answer.

A version's ``storage_location`` column tells where its artifacts are; when
that is a folder on this machine (a ``file://`` URI or an absolute path, as
the embedded default store records it), the scorer copies the model files
from there instead of asking MLflow to download them.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from serving.registry import VersionRef

logger = logging.getLogger(__name__)

# MLflow resolves this alias to the newest version itself; it has no row.
_LATEST = "latest"
_BY_ALIAS = """
    SELECT v.version, v.run_id
    FROM registered_model_aliases AS a
    JOIN model_versions AS v
        ON v.workspace = a.workspace AND v.name = a.name AND v.version = a.version
    WHERE a.workspace = 'default' AND a.name = ? AND a.alias = ?
        AND v.current_stage != 'Deleted_Internal'
"""
_BY_VERSION = """
    SELECT version, run_id FROM model_versions
    WHERE workspace = 'default' AND name = ? AND version = ?
        AND current_stage != 'Deleted_Internal'
"""
_STORAGE_LOCATION = """
    SELECT storage_location FROM model_versions
    WHERE workspace = 'default' AND name = ? AND version = ?
        AND current_stage != 'Deleted_Internal'
"""


def resolve_from_sqlite(
    database: Path,
    model_name: str,
    *,
    alias: str | None,
    version: str | None,
    timeout_s: float,
) -> VersionRef | None:
    """The version named, or None when this read cannot tell (ask MLflow then).

    Args:
        timeout_s: how long to wait for a writer's lock on the database.
    """
    if version is None and (alias is None or alias.lower() == _LATEST):
        return None
    if version is None:
        row = _read_row(database, _BY_ALIAS, (model_name, alias), timeout_s)
    else:
        row = _read_version_row(database, _BY_VERSION, model_name, version, timeout_s)
    if row is None:
        return None
    return VersionRef(
        name=model_name,
        version=str(row[0]),
        alias=None if version is not None else alias,
        run_id=row[1] or None,
    )


def local_artifact_folder(
    database: Path, model_name: str, version: str, *, timeout_s: float
) -> Path | None:
    """The local folder holding ``version``'s artifacts, or None (ask MLflow then).

    Args:
        timeout_s: how long to wait for a writer's lock on the database.
    """
    row = _read_version_row(database, _STORAGE_LOCATION, model_name, version, timeout_s)
    if row is None:
        return None
    folder = _local_folder(row[0] or "")
    if folder is None:
        logger.info(
            "%s version %s is stored at %r, no folder on this machine; asking MLflow",
            model_name,
            version,
            row[0],
        )
    return folder


def _local_folder(location: str) -> Path | None:
    """The existing folder a ``file://`` URI or an absolute path names, else None."""
    parts = urlsplit(location)
    if parts.scheme == "file" and parts.netloc in {"", "localhost"}:
        path = Path(unquote(parts.path))
    elif not parts.scheme:
        path = Path(location)
    else:
        return None
    return path if path.is_absolute() and path.is_dir() else None


def _read_version_row(
    database: Path, query: str, model_name: str, version: str, timeout_s: float
) -> tuple[Any, ...] | None:
    """The row ``query`` finds for one version; None for a version that is no number."""
    try:
        number = int(version)
    except ValueError:
        return None
    return _read_row(database, query, (model_name, number), timeout_s)


def _read_row(
    database: Path, query: str, parameters: tuple[object, ...], timeout_s: float
) -> tuple[Any, ...] | None:
    """The first row of ``query``, read-only; None when there is none or it failed."""
    if not database.is_file():
        return None
    try:
        uri = f"{database.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=timeout_s)) as connection:
            row: tuple[Any, ...] | None = connection.execute(
                query, parameters
            ).fetchone()
    except sqlite3.Error as exc:
        logger.info("reading %s directly failed (%s); asking MLflow", database, exc)
        return None
    return row
