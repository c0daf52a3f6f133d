"""``python -m bench.reliability [--quick]``: the reliability and security proof.

Trains a tiny model into a temporary MLflow store (or follows
``--tracking-uri``/``--model-name``), then runs every check against real
scorers on 127.0.0.1: schemathesis fuzzing, hostile input, a mixed load with
memory watched, faults under traffic, and the security checks. Writes
``bench/results/reliability.json`` and prints one line per check. The CI
suite in tests/reliability runs the same functions with shorter settings.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlflow import MlflowClient

from bench import (
    reliability_artifacts,
    reliability_faults,
    reliability_fuzz,
    reliability_hostile,
    reliability_load,
    reliability_security,
)
from bench.reliability_registry import ModelSource, PrivateRegistry, local_copy
from bench.reliability_scorer import ScorerLauncher, ScorerProcess, java_children
from bench.servers import free_port

logger = logging.getLogger("bench.reliability")

RESULTS = Path(__file__).resolve().parent / "results" / "reliability.json"


@dataclass(frozen=True)
class Budget:
    """How long and how much each check runs."""

    fuzz_examples: int
    fuzz_max_s: float
    slow_client_s: float
    load_warmup_s: float
    load_s: float
    alias_moves: int
    outage_s: float


FULL = Budget(
    fuzz_examples=300,
    fuzz_max_s=1800,
    slow_client_s=20,
    load_warmup_s=30,
    load_s=180,
    alias_moves=10,
    outage_s=10,
)
QUICK = Budget(
    fuzz_examples=25,
    fuzz_max_s=300,
    slow_client_s=5,
    load_warmup_s=10,
    load_s=30,
    alias_moves=2,
    outage_s=6,
)


def train_tiny_model(store: Path) -> tuple[ModelSource, dict[str, object]]:
    """Run the real training job with a tiny budget; watch H2O's port around it."""
    port = free_port()
    tracking_uri = f"sqlite:///{store / 'mlflow.db'}"
    command = [
        sys.executable,
        "-m",
        "training",
        "--tracking-uri",
        tracking_uri,
        "--artifact-root",
        str(store / "mlruns"),
        "--max-models",
        "2",
        "--max-runtime-secs",
        "15",
        "--nfolds",
        "0",
        "--h2o-port",
        str(port),
        "--h2o-memory",
        "1G",
    ]
    store.mkdir(parents=True, exist_ok=True)
    log = store / "training.log"
    open_during = False
    h2o_listening: list[str] = []
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        while process.poll() is None and time.monotonic() - started < 900:
            if not reliability_security.h2o_port_closed(port):
                open_during = True
                h2o_listening = h2o_listening or _listening_on(process.pid, port)
            time.sleep(0.5)
        if process.poll() is None:
            process.kill()
        process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"training failed ({process.returncode}); see {log}")
    closed_after_s = reliability_security.wait_port_closed(port, timeout_s=30)
    source = resolve_model(tracking_uri, "mojo-demo", None, store / "model-files")
    return source, {
        "h2o_port": port,
        "open_on_loopback_while_training": open_during,
        "h2o_jvm_listening": h2o_listening,
        "closed_after_training_within_s": closed_after_s,
        "training_s": round(time.monotonic() - started, 1),
        "passed": open_during
        and closed_after_s is not None
        and bool(h2o_listening)
        and all(address.startswith("127.0.0.1:") for address in h2o_listening),
    }


def _listening_on(parent: int, port: int) -> list[str]:
    """Every listening address of the JVM below ``parent`` that owns ``port``."""
    for pid in java_children(parent):
        try:
            found = reliability_security.listening_sockets(pid)
        except OSError:
            # The JVM is still starting or already gone: try at the next sample.
            continue
        if port in {p for _, p in found}:
            return [f"{host}:{p}" for host, p in found]
    return []


def resolve_model(
    tracking_uri: str, model_name: str, version: str | None, folder: Path
) -> ModelSource:
    """The version the alias names (or ``version``) and a local copy of its files."""
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if version is None:
        version = str(
            client.get_model_version_by_alias(model_name, "production").version
        )
    model_dir = local_copy(tracking_uri, model_name, version, folder)
    return ModelSource(tracking_uri, model_name, version, model_dir)


class Runner:
    """Runs the sections, each with fresh scorers, and keeps their results."""

    def __init__(
        self,
        source: ModelSource,
        root: Path,
        budget: Budget,
        only: set[str] | None = None,
    ) -> None:
        self.only = only
        self.source = source
        self.root = root
        self.budget = budget
        self.classes = root / "java-classes"
        self.results: dict[str, object] = {}

    def section(
        self, name: str, check: Callable[[ScorerLauncher, Path], object]
    ) -> None:
        """Run one check with its own launcher and folder; record its result."""
        if self.only is not None and name not in self.only:
            return
        folder = self.root / name
        launcher = ScorerLauncher(folder, self.classes)
        began = time.monotonic()
        try:
            result = check(launcher, folder)
        except Exception as exc:
            logger.exception("%s failed to run", name)
            result = {"passed": False, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            launcher.stop_all()
        if isinstance(result, dict):
            result["check_s"] = round(time.monotonic() - began, 1)
        self.results[name] = result
        verdict = (
            "PASS" if isinstance(result, dict) and result.get("passed") else "FAIL"
        )
        print(f"{verdict}  {name}  ({time.monotonic() - began:.0f} s)", flush=True)

    def registry(self, folder: Path) -> PrivateRegistry:
        return PrivateRegistry(self.source, folder / "registry")

    def run_all(self) -> None:
        budget = self.budget
        admin = reliability_faults.ADMIN_TOKEN

        def plain(launcher: ScorerLauncher, folder: Path) -> ScorerProcess:
            return launcher(
                **self.registry(folder).scorer_settings(), admin_token=admin
            )

        self.section(
            "fuzz_openapi",
            lambda launcher, folder: reliability_fuzz.fuzz(
                plain(launcher, folder),
                max_examples=budget.fuzz_examples,
                admin_token=admin,
                report_dir=folder / "schemathesis",
                max_seconds=budget.fuzz_max_s,
            ),
        )
        self.section(
            "hostile_input",
            lambda launcher, folder: reliability_hostile.run_hostile(
                plain(launcher, folder), slow_seconds=budget.slow_client_s
            ),
        )
        self.section(
            "load_and_soak",
            lambda launcher, folder: reliability_load.soak(
                plain(launcher, folder),
                seconds=budget.load_s,
                warmup_s=budget.load_warmup_s,
            ),
        )
        self.section(
            "fault_jvm_killed",
            lambda launcher, folder: reliability_faults.jvm_killed_under_load(
                launcher, self.registry(folder)
            ),
        )
        self.section(
            "fault_alias_moves",
            lambda launcher, folder: reliability_faults.alias_moves_under_load(
                launcher, self.registry(folder), moves=budget.alias_moves
            ),
        )
        self.section(
            "fault_bad_versions",
            lambda launcher, folder: reliability_faults.bad_versions_refused(
                launcher, self.registry(folder)
            ),
        )
        self.section(
            "fault_registry_down_at_start",
            lambda launcher, folder: reliability_faults.registry_down_at_start(
                launcher, self.registry(folder), folder / "shared-cache"
            ),
        )
        self.section(
            "fault_registry_down_while_polling",
            lambda launcher, folder: reliability_faults.registry_down_while_polling(
                launcher, self.registry(folder), outage_s=budget.outage_s
            ),
        )
        self.section(
            "fault_cache_not_writable",
            lambda launcher, folder: reliability_faults.cache_not_writable(
                launcher, self.registry(folder), folder / "cache-test"
            ),
        )
        self.section(
            "security_auth_and_logs",
            lambda launcher, folder: reliability_security.auth_and_logs(
                launcher, self.registry(folder)
            ),
        )
        self.section(
            "security_defaults_and_cors",
            lambda launcher, folder: reliability_security.open_by_default(
                launcher, self.registry(folder)
            ),
        )
        self.section(
            "security_jvm_gateway",
            lambda launcher, folder: reliability_security.gateway_locked(
                plain(launcher, folder)
            ),
        )
        self.section(
            "security_no_unpickling",
            lambda launcher, folder: reliability_security.pickle_free(
                launcher, self.registry(folder), folder / "TRAP-FIRED"
            ),
        )
        self.section(
            "security_artifact_paths",
            lambda launcher, folder: reliability_artifacts.artifact_paths_confined(
                launcher, self.registry(folder), folder / "escape"
            ),
        )
        self.section(
            "security_constant_time_compare",
            lambda launcher, folder: (
                reliability_security.admin_compare_is_constant_time()
            ),
        )
        self.section(
            "security_deployment_files",
            lambda launcher, folder: reliability_security.deployment_files(),
        )


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run every check, write the results file."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.reliability", description=__doc__
    )
    parser.add_argument("--quick", action="store_true", help="the short CI-sized run")
    parser.add_argument(
        "--tracking-uri", help="follow this sqlite:/// store instead of training"
    )
    parser.add_argument("--model-name", default="mojo-demo")
    parser.add_argument(
        "--version", help="registry version (default: alias production)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--only",
        help="comma-separated checks to rerun; their results replace those in --output",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)

    budget = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="reliability-"))
    began = time.monotonic()
    training: dict[str, object] | None = None
    if args.tracking_uri:
        source = resolve_model(
            args.tracking_uri, args.model_name, args.version, work / "model-files"
        )
    else:
        print("training a tiny model (prostate, 2 models, 15 s budget)...", flush=True)
        source, training = train_tiny_model(work / "store")
    only = set(args.only.split(",")) if args.only else None
    runner = Runner(source, work, budget, only)
    if training is not None and only is None:
        runner.results["security_h2o_only_while_training"] = training
    runner.run_all()

    results = runner.results
    if only is not None and args.output.is_file():
        previous = json.loads(args.output.read_text())["checks"]
        results = {**previous, **results}
    failed = [
        name
        for name, result in results.items()
        if not (isinstance(result, dict) and result.get("passed"))
    ]
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "budget": budget.__dict__,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "model": {
            "name": source.model_name,
            "version": source.version,
            "trained_here": training is not None,
        },
        "duration_s": round(time.monotonic() - began, 1),
        "checks": results,
        "passed": not failed,
        "failed_checks": failed,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.output}; work folder {work}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"FAILED: {', '.join(failed)}" if failed else "ALL PASSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
