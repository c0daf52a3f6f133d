"""One training job from file to registered version, in the order that keeps
the registry untouched until every check has passed."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from serving.model_schema import ModelSchema
from serving.runtime_errors import MojoRuntimeError
from serving.scorer import MojoScorer
from training import report
from training.automl import AutoMLResult, run_automl
from training.cluster import h2o_session, preflight
from training.config import Settings
from training.data import InputSpec, inspect_input
from training.errors import ParityError
from training.export import ExportedModel, build_schema, export_first_exportable
from training.frames import Holdout, TrainingFrames, load_frames, read_holdout
from training.interrupts import InterruptWatch, watch_interrupts
from training.parity import ParityReport, check_parity
from training.promotion import PromotionDecision, decide_promotion
from training.registry import (
    Store,
    log_model_files,
    log_pyfunc_model,
    open_store,
    registered_version,
    set_aliases,
)

logger = logging.getLogger(__name__)

_INPUT_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class JobResult:
    """What the job produced: the run, the version and where its files are."""

    run_id: str
    model_name: str
    version: str
    aliases: list[str]
    decision: PromotionDecision
    model_dir: Path
    schema: ModelSchema
    holdout: pd.DataFrame
    leaderboard: pd.DataFrame
    seconds: float


@dataclass(frozen=True)
class _Trained:
    spec: InputSpec
    automl: AutoMLResult
    exported: ExportedModel
    schema: ModelSchema
    holdout: Holdout
    parity: ParityReport


def run_job(settings: Settings, output_dir: Path) -> JobResult:
    """Train, check, log and register; raise TrainingError with nothing registered."""
    started = time.monotonic()
    spec = inspect_input(settings)
    store = open_store(settings)
    preflight(settings)

    with (
        watch_interrupts() as watch,
        mlflow.start_run(experiment_id=store.experiment_id) as run,
    ):
        _log_inputs(settings, spec)
        trained = _train(settings, spec, output_dir, watch)
        decision, version, aliases = _publish(
            settings,
            store,
            trained,
            run_id=run.info.run_id,
            output_dir=output_dir,
            watch=watch,
        )
        seconds = time.monotonic() - started
        mlflow.log_metric("job_seconds", seconds)

    return JobResult(
        run_id=run.info.run_id,
        model_name=settings.model_name,
        version=version,
        aliases=aliases,
        decision=decision,
        model_dir=trained.exported.model_dir,
        schema=trained.schema,
        holdout=trained.holdout.to_pandas(trained.schema),
        leaderboard=trained.automl.leaderboard,
        seconds=seconds,
    )


def _publish(
    settings: Settings,
    store: Store,
    trained: _Trained,
    *,
    run_id: str,
    output_dir: Path,
    watch: InterruptWatch,
) -> tuple[PromotionDecision, str, list[str]]:
    """Log the run's files, decide promotion, log the pyfunc model, register it."""
    _log_outputs(trained, output_dir)
    decision = decide_promotion(
        settings, store, trained.schema, trained.holdout, trained.parity.prediction
    )
    _log_decision(decision)
    example = trained.holdout.to_pandas(trained.schema).head(_INPUT_EXAMPLE_ROWS)
    model_uri = log_pyfunc_model(
        trained.exported.model_dir,
        trained.schema,
        example.drop(columns=[trained.schema.target]),
    )
    watch.check()
    version, aliases = _register(
        settings=settings,
        store=store,
        trained=trained,
        model_uri=model_uri,
        run_id=run_id,
        decision=decision,
    )
    return decision, version, aliases


def _train(
    settings: Settings, spec: InputSpec, output_dir: Path, watch: InterruptWatch
) -> _Trained:
    """Everything that needs the cluster; the cluster stops when this returns."""
    with tempfile.TemporaryDirectory(prefix="h2o-") as scratch:
        work_dir = settings.work_dir or Path(scratch)
        with h2o_session(settings, work_dir):
            frames = load_frames(spec, settings.holdout_fraction, settings.seed)
            watch.check()
            automl = run_automl(spec, frames, settings)
            watch.check()
            exported = export_first_exportable(automl, output_dir / "model")
            schema = build_schema(exported, spec, automl, frames.train, frames.holdout)
            holdout = read_holdout(frames)
            watch.check()
            parity = _check_parity(settings, exported, frames, holdout)
            watch.check()
    return _Trained(spec, automl, exported, schema, holdout, parity)


def _check_parity(
    settings: Settings,
    exported: ExportedModel,
    frames: TrainingFrames,
    holdout: Holdout,
) -> ParityReport:
    try:
        with MojoScorer.open(
            exported.model_dir,
            heap_mb=settings.runtime_heap_mb,
            class_cache_dir=settings.runtime_class_cache,
        ) as scorer:
            return check_parity(
                exported.model,
                frames.holdout,
                holdout,
                scorer,
                settings.parity_tolerance,
            )
    except MojoRuntimeError as exc:
        raise ParityError(
            f"The project's runtime cannot score the exported MOJO "
            f"{exported.model_id}: {exc}"
        ) from exc


def _log_inputs(settings: Settings, spec: InputSpec) -> None:
    mlflow.log_params(
        {
            "data": str(spec.path),
            "target": spec.target,
            "task": spec.task,
            "features": ",".join(spec.features)[:500],
            "max_models": settings.max_models,
            "max_runtime_secs": settings.max_runtime_secs,
            "seed": settings.seed,
            "sort_metric_requested": settings.sort_metric,
            "nfolds": settings.nfolds,
            "include_algos": ",".join(settings.include_algos or []) or "all",
            "exclude_algos": ",".join(settings.exclude_algos or []) or "none",
            "h2o_memory": settings.h2o_memory,
            "holdout_fraction": settings.holdout_fraction,
            "h2o_cluster": settings.h2o_url or "local",
            "promotion_policy": settings.promotion,
            "data_rows": spec.fingerprint.rows,
            "data_columns": spec.fingerprint.columns,
            "data_sha256": spec.fingerprint.sha256,
        }
    )


def _log_outputs(trained: _Trained, output_dir: Path) -> None:
    schema = trained.schema
    mlflow.log_params(
        {
            "model_id": schema.model_id,
            "algorithm": schema.algorithm,
            "sort_metric": schema.sort_metric,
            "h2o_version": schema.h2o_version,
            "leaderboard_rank": trained.exported.rank + 1,
        }
    )
    mlflow.log_metrics({f"holdout_{k}": v for k, v in schema.holdout_metrics.items()})
    mlflow.log_metrics(
        {
            "automl_seconds": trained.automl.seconds,
            "leaderboard_models": float(len(trained.automl.leaderboard)),
            "parity_max_abs_difference": trained.parity.max_abs_difference,
            "parity_rows": float(trained.parity.rows),
        }
    )
    if trained.exported.skipped:
        mlflow.set_tag(
            "skipped_models",
            "; ".join(f"{m}: {why}" for m, why in trained.exported.skipped)[:5000],
        )
    reports = output_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    files = report.write_leaderboard(
        trained.automl.leaderboard, schema.model_id, reports
    ) + report.write_variable_importance(schema, reports)
    for path in files:
        mlflow.log_artifact(str(path))
    log_model_files(trained.exported.model_dir)


def _log_decision(decision: PromotionDecision) -> None:
    mlflow.set_tags(
        {
            "promotion_decision": "promote" if decision.promote else "keep",
            "promotion_reason": decision.reason,
            "promotion_metric": decision.metric,
            "promotion_compared_version": decision.production_version or "",
        }
    )
    if decision.new_score is not None:
        mlflow.log_metric("promotion_new_score", decision.new_score)
    if decision.production_score is not None:
        mlflow.log_metric("promotion_production_score", decision.production_score)
    logger.info(
        "Promotion: %s (%s)", "promote" if decision.promote else "keep", decision.reason
    )


def _register(
    *,
    settings: Settings,
    store: Store,
    trained: _Trained,
    model_uri: str,
    run_id: str,
    decision: PromotionDecision,
) -> tuple[str, list[str]]:
    schema = trained.schema
    tags = {
        "h2o_version": schema.h2o_version,
        "algorithm": schema.algorithm,
        "model_id": schema.model_id,
        "sort_metric": schema.sort_metric,
        "data_sha256": schema.data_fingerprint.sha256,
        "task": schema.task,
        "target": schema.target,
    }
    aliases = list(settings.extra_aliases)
    if decision.promote:
        aliases.insert(0, settings.production_alias)
    with registered_version(
        store, settings.model_name, model_uri, run_id, tags
    ) as version:
        set_aliases(store, settings.model_name, version, aliases)
    return version, aliases
