"""The three long-running services of the local stack, built from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from ops import commands
from ops.commands import Command
from ops.config import Settings


@dataclass(frozen=True)
class Service:
    """One service of the stack: its command, port and health URL."""

    name: str
    title: str
    port: int
    command: Command
    base_url: str
    health_path: str
    home_path: str = ""

    @property
    def health_url(self) -> str:
        """The URL that answers 200 when the service is ready."""
        return self.base_url + self.health_path

    @property
    def home_url(self) -> str:
        """The URL a person opens."""
        return self.base_url + self.home_path


def local_services(settings: Settings) -> list[Service]:
    """MLflow UI, scorer and UI, in start order; all on ``settings.host``."""
    host = settings.host
    scorer_url = f"http://{host}:{settings.scorer_port}"
    mlflow = commands.mlflow_server(
        host=host,
        port=settings.mlflow_port,
        backend_store_uri=settings.resolved_tracking_uri,
        artifacts_destination=str(settings.resolved_artifact_root),
    )
    scorer = commands.scorer(
        host=host,
        port=settings.scorer_port,
        tracking_uri=settings.resolved_tracking_uri,
        model_name=settings.model_name,
        model_alias=settings.model_alias,
        cache_dir=str(settings.model_cache_dir),
        java_classes_dir=str(settings.resolved_artifacts_dir / "java-classes"),
        poll_interval_s=settings.scorer_poll_interval_s,
    )
    if settings.scorer_admin_token is not None:
        token = settings.scorer_admin_token.get_secret_value()
        scorer = Command(
            scorer.argv, {**scorer.environment, "SERVING_ADMIN_TOKEN": token}
        )
    ui = commands.ui(host=host, port=settings.ui_port, scorer_url=scorer_url)
    return [
        Service(
            "mlflow",
            "MLflow UI",
            settings.mlflow_port,
            mlflow,
            f"http://{host}:{settings.mlflow_port}",
            "/health",
        ),
        Service(
            "scorer",
            "Scorer API",
            settings.scorer_port,
            scorer,
            scorer_url,
            "/health/ready",
            "/docs",
        ),
        Service(
            "ui",
            "UI",
            settings.ui_port,
            ui,
            f"http://{host}:{settings.ui_port}",
            "/_stcore/health",
        ),
    ]


def trainer_command(settings: Settings) -> Command:
    """The training job the stack runs when the registry has no production model."""
    return commands.trainer(
        tracking_uri=settings.resolved_tracking_uri,
        artifact_root=str(settings.resolved_artifact_root),
        model_name=settings.model_name,
        h2o_port=settings.h2o_port,
        extra_args=settings.train_args,
    )
