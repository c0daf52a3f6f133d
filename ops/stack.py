"""``python -m ops.stack up|down``: the whole restaurant on 127.0.0.1.

``up`` trains the demo model when the registry has no production version,
starts the MLflow UI, the scorer and the UI as process groups with logs and
pid files under ``artifacts/stack/``, waits until each is healthy, prints the
URLs and stops all three on Ctrl-C or SIGTERM. ``down`` stops what is left.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import IO

from pydantic import ValidationError

from ops.config import Settings, describe_settings_error
from ops.ports import is_port_free, port_owner, process_argv
from ops.processes import (
    PidRecord,
    child_environment,
    log_file,
    pid_file,
    stop_group,
)
from ops.registry import (
    RegistryUnavailableError,
    alias_version,
    sqlite_store_missing,
)
from ops.services import Service, local_services, trainer_command
from ops.supervisor import PROJECT_ROOT, StackError, StopRequested, Supervisor

logger = logging.getLogger(__name__)

SUPERVISOR = "stack"
MLFLOW = "mlflow"
TRAINER = "trainer"
EXIT_INTERRUPTED = 130
_TRAINER_STOP_S = 60.0
_POLL_S = 0.5


def up(settings: Settings) -> int:
    """Start the stack and supervise it until Ctrl-C, SIGTERM or a crash."""
    services = local_services(settings)
    stop = _stop_on_signals()
    state_dir = settings.state_dir
    _refuse_second_stack(state_dir, services)
    _require_free_ports(
        [(service.name, service.port) for service in services], settings
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    own_argv = process_argv(os.getpid()) or (sys.executable,)
    PidRecord(SUPERVISOR, os.getpid(), own_argv).write(pid_file(state_dir, SUPERVISOR))
    supervisor = Supervisor(
        services,
        state_dir=state_dir,
        stop_timeout_s=settings.stop_timeout_s,
        probe_timeout_s=settings.probe_timeout_s,
    )
    try:
        # MLflow first: it is the slowest to start and needs no model, and its
        # UI shows the training run when there is one.
        store_was_missing = sqlite_store_missing(settings.resolved_tracking_uri)
        print(f"Starting the MLflow UI (logs in {state_dir}) ...", flush=True)
        supervisor.start(MLFLOW)
        _ensure_production_model(
            settings, supervisor, stop, store_was_missing=store_was_missing
        )
        if stop.is_set():
            raise StopRequested
        print("Starting the scorer and the UI ...", flush=True)
        for service in services:
            if service.name != MLFLOW:
                supervisor.start(service.name)
        supervisor.wait_healthy(
            supervisor.services, timeout_s=settings.startup_timeout_s, stop=stop
        )
        _print_urls(services, state_dir)
        supervisor.watch(stop)
        print("Stopping the stack ...", flush=True)
        return 0
    except StopRequested:
        print("Stopped before the stack was up.", flush=True)
        return EXIT_INTERRUPTED
    finally:
        supervisor.stop_all()
        pid_file(state_dir, SUPERVISOR).unlink(missing_ok=True)


def down(settings: Settings) -> int:
    """Stop a running supervisor, then any service process group it left behind."""
    state_dir = settings.state_dir
    stopped = 0
    record = PidRecord.read(pid_file(state_dir, SUPERVISOR))
    if record is not None and _supervisor_alive(record):
        print(f"Stopping the stack supervisor (pid {record.pid}) ...", flush=True)
        os.kill(record.pid, signal.SIGTERM)
        _wait_process_gone(record.pid, settings.stop_timeout_s * 4)
        stopped += 1
    pid_file(state_dir, SUPERVISOR).unlink(missing_ok=True)
    for path in sorted(state_dir.glob("*.pid")):
        service = PidRecord.read(path)
        if service is not None and service.is_running():
            print(
                f"Stopping {service.name} (process group {service.pid}) ...", flush=True
            )
            if not stop_group(service.pid, timeout_s=settings.stop_timeout_s):
                raise StackError(
                    f"{service.name} (process group {service.pid}) survived SIGKILL; "
                    "is it another user's process?"
                )
            stopped += 1
        path.unlink(missing_ok=True)
    print(
        "Stopped." if stopped else f"Nothing to stop (no live pid file in {state_dir})."
    )
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop


def _refuse_second_stack(state_dir: Path, services: Sequence[Service]) -> None:
    record = PidRecord.read(pid_file(state_dir, SUPERVISOR))
    if record is not None and _supervisor_alive(record):
        raise StackError(
            f"a stack is already running (supervisor pid {record.pid}); "
            "stop it with `make down` first"
        )
    # Starting again would overwrite the pid files `make down` needs.
    leftovers = []
    for service in services:
        left = PidRecord.read(pid_file(state_dir, service.name))
        if left is not None and left.is_running():
            leftovers.append(f"{service.name} (process group {left.pid})")
    if leftovers:
        raise StackError(
            f"a previous stack left {', '.join(leftovers)} running; "
            "stop them with `make down` first"
        )


def _require_free_ports(ports: Sequence[tuple[str, int]], settings: Settings) -> None:
    taken = []
    for name, port in ports:
        if is_port_free(settings.host, port):
            continue
        owner = port_owner(port)
        holder = owner.describe() if owner is not None else "an unknown process"
        variable = f"OPS_{name.upper()}_PORT"
        taken.append(
            f"port {port} ({name}) is in use by {holder}: stop it (`make down` if it "
            f"is a previous stack) or pick another port with {variable}=..."
        )
    if taken:
        raise StackError("\n".join(taken))


def _ensure_production_model(
    settings: Settings,
    supervisor: Supervisor,
    stop: threading.Event,
    *,
    store_was_missing: bool,
) -> None:
    name, alias = settings.model_name, settings.model_alias
    tracking_uri = settings.resolved_tracking_uri
    version = None
    if not store_was_missing:
        try:
            version = alias_version(tracking_uri, name, alias)
        except RegistryUnavailableError as exc:
            raise StackError(f"{exc}; check OPS_TRACKING_URI") from exc
    if version is not None:
        print(f"Registry: {name}@{alias} is version {version}.", flush=True)
        return
    print(
        f"Registry: no {name}@{alias} in {tracking_uri}; training the demo model first "
        "(a few minutes; Ctrl-C stops it cleanly).",
        flush=True,
    )
    _require_free_ports([("h2o", settings.h2o_port)], settings)
    # MLflow creates or migrates the store as it starts: two processes doing it
    # at once corrupt it, so the training job waits for the server.
    supervisor.wait_healthy([MLFLOW], timeout_s=settings.startup_timeout_s, stop=stop)
    print(
        f"Follow the training run in the MLflow UI: "
        f"{supervisor.services[MLFLOW].home_url}",
        flush=True,
    )
    _run_trainer(settings, stop)


def _run_trainer(settings: Settings, stop: threading.Event) -> None:
    command = trainer_command(settings)
    argv = command.with_interpreter(sys.executable)
    log_path = log_file(settings.state_dir, TRAINER)
    with log_path.open("ab") as log:
        trainer = subprocess.Popen(
            list(argv),
            cwd=PROJECT_ROOT,
            env=child_environment(command.environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        output = trainer.stdout
        if output is None:
            raise StackError("the training job started without an output pipe")
        tee = threading.Thread(target=_tee, args=(output, log), daemon=True)
        tee.start()
        while trainer.poll() is None:
            if stop.wait(_POLL_S):
                # SIGINT lets the job shut its H2O down and register nothing;
                # SIGTERM, then SIGKILL, only if it does not finish in time.
                os.killpg(trainer.pid, signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    trainer.wait(timeout=_TRAINER_STOP_S)
                stop_group(
                    trainer.pid, timeout_s=settings.stop_timeout_s, process=trainer
                )
                print("Training interrupted; nothing was registered.", flush=True)
                raise StopRequested
        tee.join(timeout=5)
    if trainer.returncode != 0:
        raise StackError(
            f"training failed with exit code {trainer.returncode}; its output is in "
            f"{log_path}"
        )


def _tee(source: IO[bytes], log: IO[bytes]) -> None:
    for line in iter(source.readline, b""):
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
        log.write(line)
        log.flush()


def _print_urls(services: Sequence[Service], state_dir: Path) -> None:
    print("\nThe restaurant is open:", flush=True)
    for service in services:
        print(f"  {service.title:<11} {service.home_url}", flush=True)
    print(
        f"Logs and pid files: {state_dir}. Ctrl-C stops all three; "
        "`make down` stops what is left; `make doctor` checks everything.",
        flush=True,
    )


def _supervisor_alive(record: PidRecord) -> bool:
    argv = process_argv(record.pid)
    return argv is not None and argv == record.argv


def _wait_process_gone(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while process_argv(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.2)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ops.stack``."""
    parser = argparse.ArgumentParser(prog="python -m ops.stack", description=__doc__)
    parser.add_argument(
        "action",
        choices=["up", "down"],
        help="up: start and supervise the stack; down: stop what is left",
    )
    action = parser.parse_args(argv).action
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: {describe_settings_error(exc)}", file=sys.stderr)
        return 2
    try:
        return up(settings) if action == "up" else down(settings)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
