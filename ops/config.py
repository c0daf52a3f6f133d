"""Settings of the local stack and the doctor, read once from ``OPS_*`` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK = "127.0.0.1"


class Settings(BaseSettings):
    """Ports, paths and timeouts of ``make demo``, ``make down`` and ``make doctor``."""

    model_config = SettingsConfigDict(
        env_prefix="OPS_", extra="forbid", hide_input_in_errors=True
    )

    host: str = LOOPBACK
    mlflow_port: int = Field(default=5000, ge=1, le=65535)
    scorer_port: int = Field(default=8000, ge=1, le=65535)
    ui_port: int = Field(default=8501, ge=1, le=65535)
    h2o_port: int = Field(default=54321, ge=1, le=65535)

    artifacts_dir: Path = Path("artifacts")
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow store; default: sqlite:///<artifacts_dir>/mlflow.db",
    )
    artifact_root: Path | None = Field(
        default=None, description="MLflow artifacts; default: <artifacts_dir>/mlruns"
    )
    model_name: str = "mojo-demo"
    model_alias: str = "production"

    scorer_poll_interval_s: float = Field(default=10.0, gt=0)
    scorer_admin_token: SecretStr | None = None
    train_args: list[str] = Field(
        default_factory=list,
        description="extra options for `python -m training` when the stack trains",
    )

    startup_timeout_s: float = Field(default=180.0, gt=0)
    stop_timeout_s: float = Field(default=15.0, gt=0)
    probe_timeout_s: float = Field(default=3.0, gt=0)
    java_min_major: int = 17

    @property
    def resolved_artifacts_dir(self) -> Path:
        """The artifacts folder as an absolute path."""
        return self.artifacts_dir.resolve()

    @property
    def resolved_tracking_uri(self) -> str:
        """The MLflow tracking and registry URI every service of the stack uses."""
        if self.tracking_uri is not None:
            return self.tracking_uri
        return f"sqlite:///{self.resolved_artifacts_dir / 'mlflow.db'}"

    @property
    def resolved_artifact_root(self) -> Path:
        """Where MLflow keeps run and model artifacts."""
        root = self.artifact_root or self.artifacts_dir / "mlruns"
        return root.resolve()

    @property
    def state_dir(self) -> Path:
        """Folder of the stack's pid files and logs."""
        return self.resolved_artifacts_dir / "stack"

    @property
    def model_cache_dir(self) -> Path:
        """The scorer's model cache."""
        return self.resolved_artifacts_dir / "model-cache"


def describe_settings_error(exc: ValidationError) -> str:
    """One line per bad variable, named as the person set it: ``OPS_UI_PORT: ...``."""
    lines = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"]).upper()
        lines.append(f"OPS_{name}: {error['msg']}")
    return "invalid settings: " + "; ".join(lines)
