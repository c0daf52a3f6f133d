"""What the MLflow registry holds: the version behind the serving alias."""

from __future__ import annotations

from pathlib import Path

_SQLITE = "sqlite:///"


class RegistryUnavailableError(RuntimeError):
    """The registry could not be read (missing store, server down, bad URI)."""


def sqlite_store_missing(tracking_uri: str) -> bool:
    """Whether the URI names a SQLite store whose file does not exist yet."""
    if not tracking_uri.startswith(_SQLITE):
        return False
    return not Path(tracking_uri.removeprefix(_SQLITE)).is_file()


def alias_version(tracking_uri: str, model_name: str, alias: str) -> str | None:
    """The version that ``model_name@alias`` points to, or None when nothing does."""
    if sqlite_store_missing(tracking_uri):
        # Opening a missing SQLite store would create an empty one.
        return None
    # mlflow takes seconds to import: only the commands that read the registry
    # pay for it, not `make down` or a refused start.
    from mlflow.exceptions import MlflowException  # noqa: PLC0415
    from mlflow.tracking import MlflowClient  # noqa: PLC0415

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        # The model's alias table, rather than a lookup by alias, tells a missing
        # alias (None) apart from a registry that cannot be read (an error).
        model = client.get_registered_model(model_name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise RegistryUnavailableError(
            f"cannot read {model_name}@{alias} from {tracking_uri}: {exc.message}"
        ) from exc
    version = model.aliases.get(alias)
    return None if version is None else str(version)
