"""The scorer's settings: one typed object, read once from ``SERVING_*`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]


class Settings(BaseSettings):
    """Everything the scorer can be told; defaults run locally against artifacts/."""

    model_config = SettingsConfigDict(
        env_prefix="SERVING_",
        extra="ignore",
        protected_namespaces=(),
        # Validation errors must never echo a secret back into a log.
        hide_input_in_errors=True,
    )

    tracking_uri: str = Field(
        default="sqlite:///artifacts/mlflow.db",
        description="MLflow tracking and registry URI.",
    )
    model_name: str = Field(default="mojo-demo", min_length=1)
    model_alias: str = Field(default="production", min_length=1)
    model_version: str | None = Field(
        default=None, description="A fixed registry version; overrides the alias."
    )
    local_model_dir: Path | None = Field(
        default=None,
        description="Serve this model folder and never ask the registry.",
    )
    cache_dir: Path = Path("artifacts/model-cache")
    java_classes_dir: Path | None = Field(
        default=None,
        description="Where the compiled batch scorer is kept "
        "(default: the runtime's artifacts/java-classes).",
    )
    poll_interval_s: float = Field(default=30.0, gt=0)
    registry_timeout_s: int = Field(
        default=10,
        ge=1,
        description="Timeout of one HTTP call to an MLflow server (MLflow's own "
        "default is 120 s with 7 retries).",
    )
    registry_retries: int = Field(default=2, ge=0)
    jvm_heap_mb: int = Field(default=256, ge=64)
    max_rows: int = Field(default=100_000, ge=1)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    small_request_bytes: int = Field(
        default=16 * 1024,
        ge=0,
        description="/predict bodies up to this size are checked and scored from "
        "the event loop, merged with concurrent ones; 0 sends every request to a "
        "worker thread.",
    )
    pin_event_loop: bool = Field(
        default=True,
        description="Keep the event loop, and the JVM thread that answers its "
        "single requests, on one CPU: a request then reaches the JVM without "
        "waking another core. Turn off when several scorers share the same CPUs.",
    )
    admin_token: SecretStr | None = None
    api_key: SecretStr | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CORS origins, comma separated; empty keeps CORS closed.",
    )
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    # Off by default: the line costs about as much as the rest of a single-row
    # request's Python work; metrics count every request anyway.
    access_log: bool = Field(
        default=False, description="One INFO line per request (no payloads)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _reject_short_secrets(self) -> Settings:
        for name in ("admin_token", "api_key"):
            secret: SecretStr | None = getattr(self, name)
            if secret is not None and len(secret.get_secret_value()) < 16:
                variable = f"SERVING_{name.upper()}"
                raise ValueError(
                    f"{variable} is shorter than 16 characters; use a long random "
                    f'value such as the output of `python -c "import secrets; '
                    f'print(secrets.token_urlsafe(32))"`, or unset it'
                )
        return self

    @property
    def reference(self) -> str:
        """The registry reference followed, e.g. ``models:/mojo-demo@production``."""
        if self.model_version is not None:
            return f"models:/{self.model_name}/{self.model_version}"
        return f"models:/{self.model_name}@{self.model_alias}"
