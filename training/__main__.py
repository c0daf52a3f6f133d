"""``python -m training``: train on a table, register the MOJO, maybe promote it."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, get_args

from pydantic import ValidationError

from training.config import (
    Algorithm,
    PromotionPolicy,
    Settings,
    SortMetric,
    TaskChoice,
)
from training.errors import TrainingError, UsageError
from training.job import run_job

logger = logging.getLogger("training")

EXIT_INTERRUPTED = 130


class _OneLineParser(argparse.ArgumentParser):
    """Reports a usage mistake in one line instead of the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(UsageError.exit_code, f"error: {message}; see --help.\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line; every option overrides its TRAINING_ variable."""
    parser = _OneLineParser(
        prog="python -m training",
        description="Train with H2O AutoML, export the best MOJO, log and register "
        "it in MLflow. Without --data it trains the demo table (prostate, CAPSULE).",
        argument_default=argparse.SUPPRESS,
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data", type=Path, help="CSV or Parquet file (default: the demo table)"
    )
    data.add_argument("--target", help="column to predict")
    data.add_argument("--task", choices=get_args(TaskChoice), help="default auto")
    data.add_argument(
        "--ignore-columns",
        dest="ignore_columns",
        type=_column_list,
        metavar="A,B",
        help="comma-separated columns not to train on",
    )
    data.add_argument(
        "--holdout-fraction",
        dest="holdout_fraction",
        type=float,
        help=_default("holdout_fraction"),
    )

    automl = parser.add_argument_group("AutoML")
    automl.add_argument(
        "--max-models", dest="max_models", type=int, help=_default("max_models")
    )
    automl.add_argument(
        "--max-runtime-secs",
        dest="max_runtime_secs",
        type=int,
        help=_default("max_runtime_secs"),
    )
    automl.add_argument("--seed", type=int, help=_default("seed"))
    automl.add_argument(
        "--sort-metric", dest="sort_metric", choices=get_args(SortMetric)
    )
    automl.add_argument(
        "--include-algos",
        dest="include_algos",
        type=_column_list,
        metavar="A,B",
        help=f"only these algorithms, of {', '.join(get_args(Algorithm))}",
    )
    automl.add_argument(
        "--exclude-algos",
        dest="exclude_algos",
        type=_column_list,
        metavar="A,B",
        help="leave these algorithms out",
    )
    automl.add_argument(
        "--nfolds", type=int, help=f"0 disables cross-validation; {_default('nfolds')}"
    )

    h2o = parser.add_argument_group("H2O")
    h2o.add_argument(
        "--h2o-memory", dest="h2o_memory", help=f"JVM heap; {_default('h2o_memory')}"
    )
    h2o.add_argument(
        "--h2o-port",
        dest="h2o_port",
        type=int,
        help=f"port of a locally started H2O (on 127.0.0.1); {_default('h2o_port')}",
    )
    h2o.add_argument(
        "--h2o-threads", dest="h2o_threads", type=int, help="-1 uses every core"
    )
    h2o.add_argument(
        "--h2o-url", dest="h2o_url", help="train on this running cluster instead"
    )

    mlflow = parser.add_argument_group("MLflow")
    mlflow.add_argument(
        "--tracking-uri", dest="tracking_uri", help=_default("tracking_uri")
    )
    mlflow.add_argument(
        "--artifact-root",
        dest="artifact_root",
        type=Path,
        help=f"artifact folder of a new experiment; {_default('artifact_root')}",
    )
    mlflow.add_argument("--experiment", help=_default("experiment"))
    mlflow.add_argument("--model-name", dest="model_name", help=_default("model_name"))
    mlflow.add_argument(
        "--promotion", choices=get_args(PromotionPolicy), help="default if-better"
    )
    mlflow.add_argument(
        "--alias",
        dest="extra_aliases",
        action="append",
        metavar="NAME",
        help="also point this alias at the new version (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job; one line on stderr and a non-zero code when it cannot."""
    options = vars(build_parser().parse_args(argv))
    verbose = bool(options.pop("verbose", False))
    _configure_logging(verbose)
    try:
        settings = _settings(options)
        with tempfile.TemporaryDirectory(prefix="training-") as output:
            result = run_job(settings, Path(output))
    except TrainingError as exc:
        logger.debug("Training failed", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted, nothing was registered", file=sys.stderr)
        return EXIT_INTERRUPTED

    top = result.leaderboard.head(3)
    metric = result.schema.sort_metric
    print(
        f"Registered {result.model_name} version {result.version} (run {result.run_id})"
    )
    print(f"Model: {result.schema.model_id} ({result.schema.algorithm})")
    print(f"Aliases: {', '.join(result.aliases) or 'none'}; {result.decision.reason}")
    print(f"Leaderboard top {len(top)} by {metric}:")
    for rank, row in enumerate(top.itertuples(index=False), start=1):
        print(f"  {rank}. {row.model_id}  {metric}={getattr(row, metric):.4f}")
    print(f"Wall time: {result.seconds:.0f} s")
    return 0


def _settings(options: dict[str, Any]) -> Settings:
    try:
        return Settings(**options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        raise UsageError(f"Invalid option: {problems}.") from exc


def _default(field: str) -> str:
    return f"default {Settings.model_fields[field].default}"


def _column_list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("alembic", "urllib3", "py4j", "matplotlib", "mlflow", "h2o"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
