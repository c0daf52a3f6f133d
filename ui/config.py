"""Settings of the Streamlit demo, read once per browser session from ``UI_*``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TROUBLESHOOTING_HINT = "See the Troubleshooting section of README.md."


class Settings(BaseSettings):
    """Where the scorer lives and how long the UI waits for it."""

    model_config = SettingsConfigDict(env_prefix="UI_", frozen=True)

    scorer_url: str = "http://127.0.0.1:8000"
    connect_timeout_s: float = Field(default=2.0, gt=0)
    status_timeout_s: float = Field(default=3.0, gt=0)
    request_timeout_s: float = Field(default=15.0, gt=0)
    batch_timeout_s: float = Field(default=120.0, gt=0)
    max_upload_mb: float = Field(default=20.0, gt=0)
    batch_chunk_rows: int = Field(default=5000, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    api_key: SecretStr | None = Field(
        default=None, description="Sent as a bearer token when the scorer wants one."
    )

    @field_validator("scorer_url")
    @classmethod
    def _http_url_without_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"UI_SCORER_URL must start with http:// or https://, got {value!r}; "
                "for example http://127.0.0.1:8000"
            )
        return value.rstrip("/")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def describe_settings_error(exc: ValidationError) -> str:
    """One line per bad ``UI_*`` variable: its name, the problem and the value."""
    lines = []
    for error in exc.errors():
        variable = "UI_" + "_".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{variable}: {message} (got {error.get('input')!r})")
    return "\n".join(lines)
