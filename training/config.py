"""Settings of the training job: environment variables prefixed TRAINING_."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import h2o
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Algorithm = Literal["DRF", "GLM", "XGBoost", "GBM", "DeepLearning", "StackedEnsemble"]
TaskChoice = Literal["auto", "binary", "multiclass", "regression"]
PromotionPolicy = Literal["if-better", "always", "never"]
SortMetric = Literal[
    "AUTO",
    "AUC",
    "AUCPR",
    "logloss",
    "mean_per_class_error",
    "RMSE",
    "MSE",
    "MAE",
    "RMSLE",
    "deviance",
]


def demo_data_path() -> Path:
    """The prostate table bundled with the h2o wheel: the demo data set."""
    return Path(h2o.__file__).parent / "h2o_data" / "prostate.csv"


class Settings(BaseSettings):
    """Every option of ``python -m training``; the command line overrides them."""

    model_config = SettingsConfigDict(env_prefix="TRAINING_", extra="forbid")

    data: Path | None = Field(
        default=None, description="CSV or Parquet file; default: the demo table"
    )
    target: str | None = Field(
        default=None, description="required with data; the demo uses CAPSULE"
    )
    task: TaskChoice = "auto"
    ignore_columns: list[str] | None = Field(
        default=None, description="default: none; the demo ignores ID"
    )

    max_models: int = Field(default=20, ge=1)
    max_runtime_secs: int = Field(default=60, ge=1)
    seed: int = 42
    sort_metric: SortMetric = "AUTO"
    nfolds: int = Field(default=5, ge=0)
    include_algos: list[Algorithm] | None = Field(
        default=None, description="train only these algorithms; default: all"
    )
    exclude_algos: list[Algorithm] | None = None
    holdout_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)

    h2o_memory: str = Field(default="2G", pattern=r"^\d+[mMgG]$")
    h2o_port: int = Field(default=54321, ge=1024, le=65534)
    h2o_threads: int = Field(default=-1, ge=-1)
    h2o_url: str | None = None

    tracking_uri: str = "sqlite:///artifacts/mlflow.db"
    artifact_root: Path = Path("artifacts/mlruns")
    experiment: str = "mojo-demo"
    model_name: str = "mojo-demo"
    promotion: PromotionPolicy = "if-better"
    production_alias: str = "production"
    extra_aliases: list[str] = Field(default_factory=list)

    parity_tolerance: float = Field(default=1e-9, gt=0.0)
    runtime_heap_mb: int = Field(default=256, ge=64)
    runtime_class_cache: Path = Field(
        default=Path("artifacts/java-classes"),
        description="where the runtime keeps its compiled batch scorer",
    )
    work_dir: Path | None = Field(
        default=None, description="where H2O keeps its logs; default: a temp folder"
    )
