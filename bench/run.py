"""``python -m bench.run [--quick]``: every path on the same MOJO and rows.

Phases: (1) models: train the demo model with the real training job (or take
``--tracking-uri``/``--model-dir``), train the plain GBM, and, in the full
run, measure H2O itself and log the MLflow alternatives while the bench's H2O
cluster is up; (2) with that cluster down, per model: the pure-Java limit,
the trivial FastAPI endpoint, this scorer over HTTP and in-process, and
MLflow's own serving; (3) write bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import h2o_paths, java_limit, mlflow_serving, profile, report, scorer_paths
from bench.loadgen import LoadShape
from bench.models import (
    DEMO,
    GBM,
    BenchModel,
    attach_cluster_model,
    local_model,
    log_alternatives,
    registry_model,
    train_demo,
)
from bench.results import Figure, Results
from bench.rows import BenchRows, synthesize
from bench.servers import free_port

logger = logging.getLogger("bench")

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Plan:
    """How much to measure: sizes, concurrencies, durations, repeats."""

    mode: str
    sizes: list[int]
    connections: list[int]
    alternative_connections: list[int]
    load_seconds: float
    warmup_s: float
    load_repeats: int
    batch_repeats: int
    # the alternatives take up to seconds per call: fewer repeats
    alternative_repeats: int
    starts: int
    alternatives: bool
    plain_gbm: bool
    java_warmup_rows: int
    train_max_models: int
    train_max_runtime_s: int
    train_nfolds: int
    # (rows per request, connections) sampled with py-spy after the figures
    profiles: list[tuple[int, int]]


QUICK = Plan(
    mode="quick",
    sizes=[1, 100, 10_000, 100_000],
    connections=[1, 8],
    alternative_connections=[1],
    load_seconds=2,
    warmup_s=1,
    load_repeats=1,
    batch_repeats=2,
    alternative_repeats=1,
    starts=1,
    alternatives=False,
    plain_gbm=False,
    java_warmup_rows=100_000,
    train_max_models=1,
    train_max_runtime_s=30,
    train_nfolds=0,
    profiles=[],
)
FULL = Plan(
    mode="full",
    sizes=[1, 10, 100, 1_000, 10_000, 100_000],
    connections=[1, 2, 4, 8, 16],
    alternative_connections=[1, 8],
    load_seconds=4,
    warmup_s=2,
    load_repeats=3,
    batch_repeats=7,
    alternative_repeats=3,
    starts=3,
    alternatives=True,
    plain_gbm=True,
    java_warmup_rows=100_000,
    train_max_models=20,
    train_max_runtime_s=60,
    train_nfolds=5,
    profiles=[(1, 1), (1, 8), (10_000, 1)],
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark the scorer against the pure-Java limit, a trivial "
        "FastAPI endpoint, MLflow's serving and H2O itself, on the same rows.",
    )
    parser.add_argument("--quick", action="store_true", help="under two minutes")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model-dir", type=Path, help="a local model folder")
    source.add_argument("--tracking-uri", help="take the registered model from here")
    parser.add_argument("--model-name", default="mojo-demo")
    parser.add_argument("--alias", default="production")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--work-dir", type=Path, help="default: a temporary folder")
    parser.add_argument(
        "--sizes", help="comma-separated rows per request, e.g. 1,100,10000"
    )
    parser.add_argument("--connections", help="comma-separated, e.g. 1,8")
    parser.add_argument("--load-seconds", type=float)
    parser.add_argument("--warmup-seconds", type=float)
    parser.add_argument("--repeats", type=int, help="timed repeats per batch size")
    parser.add_argument("--no-alternatives", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy")
    parser.add_argument("--train-max-models", type=int, help="demo AutoML budget")
    parser.add_argument("--train-max-runtime-secs", type=int, help="demo AutoML budget")
    return parser.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def make_plan(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    changes: dict[str, Any] = {}
    if args.sizes:
        changes["sizes"] = _ints(args.sizes)
    if args.connections:
        changes["connections"] = _ints(args.connections)
    if args.load_seconds:
        changes["load_seconds"] = args.load_seconds
    if args.warmup_seconds:
        changes["warmup_s"] = args.warmup_seconds
    if args.repeats:
        changes["batch_repeats"] = args.repeats
    if args.train_max_models:
        changes["train_max_models"] = args.train_max_models
    if args.train_max_runtime_secs:
        changes["train_max_runtime_s"] = args.train_max_runtime_secs
    if args.no_profile:
        changes["profiles"] = []
    if args.no_alternatives:
        changes["alternatives"] = False
        changes["plain_gbm"] = False
    return Plan(**{**asdict(plan), **changes})


@contextlib.contextmanager
def _maybe_cluster(needed: bool, work_dir: Path) -> Iterator[str | None]:
    if not needed:
        yield None
        return
    with h2o_paths.h2o_cluster(work_dir / "h2o") as url:
        yield url


def prepare_models(
    args: argparse.Namespace, plan: Plan, work_dir: Path, results: Results
) -> list[BenchModel]:
    """Phase 1: the models, and H2O's own paths while the cluster is up."""
    training_needed = args.model_dir is None and args.tracking_uri is None
    cluster_needed = training_needed or plan.alternatives or plan.plain_gbm
    models: list[BenchModel] = []
    with _maybe_cluster(cluster_needed, work_dir) as h2o_url:
        if args.model_dir is not None:
            models.append(local_model(DEMO, args.model_dir.resolve()))
        else:
            tracking_uri = args.tracking_uri or train_demo(
                work_dir / "store",
                h2o_url,
                max_models=plan.train_max_models,
                max_runtime_s=plan.train_max_runtime_s,
                nfolds=plan.train_nfolds,
            )
            models.append(
                registry_model(
                    DEMO, tracking_uri, args.model_name, args.alias, work_dir
                )
            )
        if plan.plain_gbm:
            gbm_dir = h2o_paths.train_plain_gbm(work_dir / GBM / "model")
            models.append(local_model(GBM, gbm_dir))
        if plan.alternatives:
            # the demo model only: the alternatives are the slow part of a run
            _measure_h2o_itself(models[0], plan, work_dir, results)
    return models


def _guarded(
    results: Results, model: str, path: str, measure: Callable[[], list[Figure]]
) -> None:
    """Add the figures of one path, or record why it failed and go on.

    A benchmark run spans many servers and JVMs on a shared machine; one path
    failing (a JVM killed from outside, a server too slow to start) must not
    lose the figures of every other path. The traceback goes to the log.
    """
    try:
        results.add(measure())
    except Exception as exc:  # every failure of one path is reported, not raised
        logger.exception("%s failed for model %s", path, model)
        results.skip(model, path, f"failed: {type(exc).__name__}: {str(exc)[:300]}")


def _measure_h2o_itself(
    model: BenchModel, plan: Plan, work_dir: Path, results: Results
) -> None:
    rows = synthesize(model.schema, max(plan.sizes))
    attach_cluster_model(model)
    _guarded(
        results,
        model.label,
        h2o_paths.H2O_REST,
        lambda: h2o_paths.measure_cluster_rest(
            model.label,
            model.cluster_model,
            model.schema,
            rows,
            sizes=plan.sizes,
            repeats=plan.alternative_repeats,
        ),
    )
    _guarded(
        results,
        model.label,
        h2o_paths.MOJO_PREDICT_PANDAS,
        lambda: h2o_paths.measure_mojo_predict_pandas(
            model.label,
            model.model_dir,
            rows,
            sizes=plan.sizes,
            repeats=plan.alternative_repeats,
        ),
    )
    try:
        log_alternatives(model, work_dir / "bench-store", free_port())
    except Exception as exc:  # the MLflow paths are then skipped, with the reason
        logger.exception("logging the MLflow models of %s failed", model.label)
        model.notes.append(f"MLflow models not logged: {type(exc).__name__}: {exc}")


def measure_model(
    model: BenchModel, plan: Plan, work_dir: Path, results: Results
) -> str:
    """Phase 2 for one model; returns the Java version seen."""
    model_work = work_dir / f"run-{model.label}"
    model_work.mkdir(parents=True, exist_ok=True)
    rows = synthesize(model.schema, max(plan.sizes))
    rows_csv = rows.write_plain_csv(model_work / "rows.csv")
    java_version = ""

    def java() -> list[Figure]:
        nonlocal java_version
        figures, java_version = java_limit.measure_limit(
            model.label,
            model.model_dir,
            rows_csv,
            model_work,
            sizes=plan.sizes,
            repeats=plan.batch_repeats,
            warmup_rows=plan.java_warmup_rows,
        )
        return figures

    shape = LoadShape(
        plan.connections, plan.load_seconds, plan.warmup_s, plan.load_repeats
    )

    def scorer_http() -> list[Figure]:
        figures, memory = scorer_paths.measure_scorer_http(
            model.label,
            model.scorer_source,
            rows,
            model_work,
            sizes=plan.sizes,
            shape=shape,
            repeats=plan.batch_repeats,
        )
        model.notes.append(f"RSS by process after the largest batch: {memory}")
        return figures

    _guarded(results, model.label, "java loop", java)
    _guarded(
        results,
        model.label,
        scorer_paths.TRIVIAL_PATH,
        lambda: scorer_paths.measure_trivial(
            rows,
            model_work,
            sizes=plan.sizes,
            model=model.label,
            shape=shape,
            repeats=plan.batch_repeats,
        ),
    )
    _guarded(results, model.label, "scorer over HTTP", scorer_http)
    # after the first scorer run, so that its Java class is compiled and cached
    sources = {model.source_label: model.scorer_source}
    if model.source_label == "registry":
        sources["local"] = {"SERVING_LOCAL_MODEL_DIR": str(model.model_dir)}
    for label, source in sources.items():

        def starts(source: dict[str, str] = source, label: str = label) -> list[Figure]:
            return [
                scorer_paths.measure_start_to_ready(
                    model.label, source, model_work, starts=plan.starts, label=label
                )
            ]

        _guarded(results, model.label, f"scorer start from {label}", starts)
    _guarded(
        results,
        model.label,
        "scorer in-process",
        lambda: scorer_paths.measure_in_process(
            model.label,
            model.model_dir,
            rows,
            sizes=plan.sizes,
            repeats=plan.batch_repeats,
            class_cache_dir=model_work / "java-classes",
        ),
    )
    if plan.alternatives and model.label == DEMO:
        _measure_mlflow(model, plan, rows, model_work, results)
    return java_version


def _measure_mlflow(
    model: BenchModel, plan: Plan, rows: BenchRows, model_work: Path, results: Results
) -> None:
    served = [
        (mlflow_serving.PYFUNC, model.pyfunc_uri, model.tracking_uri),
        (mlflow_serving.H2O_FLAVOUR, model.h2o_flavour_uri, model.bench_tracking_uri),
    ]
    shape = LoadShape(
        plan.alternative_connections,
        plan.load_seconds,
        plan.warmup_s,
        plan.load_repeats,
    )
    for path, uri, tracking_uri in served:
        if uri is None or tracking_uri is None:
            results.skip(model.label, path, "no model logged for this path")
            continue

        def serve(
            path: str = path, uri: str = uri, tracking: str = tracking_uri
        ) -> list[Figure]:
            return mlflow_serving.measure_mlflow_serve(
                model=model.label,
                path=path,
                model_uri=uri,
                tracking_uri=tracking,
                rows=rows,
                sizes=plan.sizes,
                shape=shape,
                repeats=plan.alternative_repeats,
                work_dir=model_work,
            )

        _guarded(results, model.label, path, serve)


def _profile(model: BenchModel, plan: Plan, work_dir: Path, out: Path) -> None:
    """py-spy summaries of the scorer under load, one file per case."""
    out.mkdir(parents=True, exist_ok=True)
    for rows, connections in plan.profiles:
        try:
            lines = profile.profile(
                model.model_dir,
                work_dir / "profile",
                rows=rows,
                connections=connections,
                seconds=8,
            )
        except Exception:  # a profile is an extra: its failure is logged only
            logger.exception("profile of %d rows at c=%d failed", rows, connections)
            continue
        target = out / f"profile-rows{rows}-c{connections}.txt"
        target.write_text("\n".join(lines) + "\n")
        logger.info("profile written to %s", target)


def _model_info(model: BenchModel) -> dict[str, Any]:
    return {
        "algorithm": model.schema.algorithm,
        "model_id": model.schema.model_id,
        "task": model.schema.task,
        "features": len(model.schema.features),
        "mojo_bytes": (model.model_dir / "model.zip").stat().st_size,
        "source": model.source_label,
        "notes": model.notes,
    }


def run(args: argparse.Namespace) -> Path:
    """Run every phase and write the results; return the output folder."""
    plan = make_plan(args)
    load_before = list(os.getloadavg())
    started = time.perf_counter()
    results = Results()
    with contextlib.ExitStack() as stack:
        if args.work_dir is not None:
            work_dir = args.work_dir.resolve()
            work_dir.mkdir(parents=True, exist_ok=True)
        else:
            work_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))
            )
        models = prepare_models(args, plan, work_dir, results)
        java_version = ""
        for model in models:
            java_version = measure_model(model, plan, work_dir, results)
        for model in models:
            if not plan.alternatives:
                reason = f"{plan.mode} run: alternatives are measured in the full run"
            elif model.label != DEMO:
                reason = "measured for the demo model only, to keep the run short"
            else:
                continue
            results.skip(
                model.label, "mlflow serve, H2O cluster, mojo_predict_pandas", reason
            )
        _profile(models[0], plan, work_dir, Path(args.out))
        settings = {
            **asdict(plan),
            "wall_seconds": round(time.perf_counter() - started, 1),
        }
        document = report.build_document(
            results,
            main_model=DEMO,
            settings=settings,
            java_version=java_version,
            model_info={m.label: _model_info(m) for m in models},
            load_before=load_before,
        )
        report.write_all(results, document, args.out)
    logger.info("results written to %s in %.0f s", args.out, settings["wall_seconds"])
    return Path(args.out)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    out = run(parse_args(argv))
    print((out / "latest.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
