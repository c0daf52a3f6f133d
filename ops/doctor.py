"""``python -m ops.doctor``: check the restaurant and say what to do for each failure.

Checks Java, each service's port (free, or served and by whom) and health,
the H2O port, the registry's production version and the version the scorer
has loaded. Exits 1 when something is wrong, 0 otherwise (warnings included).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from ops.config import Settings, describe_settings_error
from ops.health import Probe, probe
from ops.java import JavaNotFoundError, java_version
from ops.ports import is_port_free, port_owner
from ops.processes import PidRecord, log_file, pid_file
from ops.registry import RegistryUnavailableError, alias_version
from ops.services import Service, local_services

Status = Literal["ok", "warn", "fail", "skip"]

_IMPACT = {
    "mlflow": "without it there is no MLflow UI, predictions still work",
    "scorer": "without it the UI cannot predict",
    "ui": "without it there is no page, the scorer still answers",
}


@dataclass(frozen=True)
class Check:
    """One verdict: what was checked, how it went, and the fix when it failed."""

    subject: str
    status: Status
    detail: str
    fix: str | None = None


def check_java(settings: Settings) -> Check:
    """Java on the PATH, at least the version the scorer and H2O need."""
    fix = (
        f"install a JDK {settings.java_min_major} "
        f"(`apt-get install openjdk-{settings.java_min_major}-jdk-headless`) "
        "or put its bin/ first on the PATH"
    )
    try:
        java = java_version()
    except JavaNotFoundError as exc:
        return Check("Java", "fail", str(exc), fix)
    detail = f"{java.full} at {java.path}"
    if java.major < settings.java_min_major:
        return Check(
            "Java", "fail", f"{detail} is older than {settings.java_min_major}", fix
        )
    return Check("Java", "ok", detail)


def check_port(service: Service, settings: Settings) -> Check:
    """Whether the service's port is free or served, and by whom."""
    subject = f"port {service.port} ({service.name})"
    if is_port_free(settings.host, service.port):
        return Check(
            subject,
            "fail",
            "free: nothing listens there",
            _start_fix(service, settings),
        )
    owner = port_owner(service.port)
    holder = owner.describe() if owner is not None else "an unknown process"
    return Check(subject, "ok", f"served by {holder}")


def check_health(service: Service, settings: Settings, answer: Probe) -> Check:
    """Whether the service answers its health URL."""
    subject = f"{service.name} health"
    if answer.ok:
        return Check(subject, "ok", f"{answer.url} answers {answer.status}")
    detail = f"{answer.url}: {answer.describe()}"
    port_free = is_port_free(settings.host, service.port)
    if answer.status is None and port_free:
        # The port line above already says how to start it.
        return Check(subject, "fail", detail)
    if answer.status is None:
        fix = (
            f"port {service.port} is held by a process that does not answer as the "
            f"{service.name}: stop it, or set OPS_{service.name.upper()}_PORT"
        )
    else:
        log = log_file(settings.state_dir, service.name)
        fix = f"it runs but is not healthy; read {log}"
        if service.name == "scorer":
            fix += " and the registry and scorer model lines below"
    return Check(subject, "fail", detail, fix)


def check_h2o_port(settings: Settings) -> Check:
    """H2O's port: free between trainings, taken only while a training job runs."""
    subject = f"port {settings.h2o_port} (H2O)"
    if is_port_free(settings.host, settings.h2o_port):
        return Check(subject, "ok", "free (H2O runs only while training)")
    owner = port_owner(settings.h2o_port)
    holder = owner.describe() if owner is not None else "an unknown process"
    return Check(
        subject,
        "warn",
        f"in use by {holder}",
        "fine while a training job runs; otherwise `make train` cannot start H2O: "
        "stop that process",
    )


def check_registry(settings: Settings) -> tuple[Check, str | None]:
    """The version behind the production alias in the registry."""
    reference = f"{settings.model_name}@{settings.model_alias}"
    subject = "registry"
    uri = settings.resolved_tracking_uri
    try:
        version = alias_version(uri, settings.model_name, settings.model_alias)
    except RegistryUnavailableError as exc:
        return Check(subject, "fail", str(exc), "check OPS_TRACKING_URI"), None
    if version is None:
        return (
            Check(
                subject,
                "fail",
                f"no {reference} in {uri}",
                "train and promote a model: `make train` (the demo table by default)",
            ),
            None,
        )
    return Check(subject, "ok", f"{reference} is version {version} ({uri})"), version


def check_scorer_model(
    scorer_ready: Probe, production_version: str | None, settings: Settings
) -> Check:
    """The version the scorer has loaded, against the registry's production one."""
    subject = "scorer model"
    body = scorer_ready.json()
    if body is None:
        return Check(subject, "skip", "the scorer did not answer its readiness check")
    model = body.get("model")
    loaded = str(model.get("version")) if isinstance(model, dict) else None
    reload_error = body.get("last_reload_error")
    detail = f"loaded version {loaded} (source: {body.get('source')})"
    if reload_error:
        return Check(
            subject,
            "fail",
            f"{detail}; last reload failed: {reload_error}",
            f"the old model keeps serving; fix the new version or move "
            f"{settings.model_name}@{settings.model_alias} back",
        )
    if loaded is None:
        return Check(
            subject, "fail", "no model loaded", "check the registry line above"
        )
    if production_version is not None and loaded != production_version:
        return Check(
            subject,
            "warn",
            f"{detail}, registry production is {production_version}",
            f"the scorer polls every {settings.scorer_poll_interval_s:g} s; "
            "run the doctor again in a moment",
        )
    return Check(subject, "ok", detail)


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a person would look."""
    checks = [check_java(settings)]
    scorer_ready: Probe | None = None
    for service in local_services(settings):
        answer = probe(service.health_url, timeout_s=settings.probe_timeout_s)
        if service.name == "scorer":
            scorer_ready = answer
        checks += [
            check_port(service, settings),
            check_health(service, settings, answer),
        ]
    checks.append(check_h2o_port(settings))
    registry, production_version = check_registry(settings)
    checks.append(registry)
    if scorer_ready is not None:
        checks.append(check_scorer_model(scorer_ready, production_version, settings))
    return checks


def render(checks: Sequence[Check]) -> str:
    """The report: one line per check, the fix under each failure or warning."""
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "--  "}
    lines = []
    for check in checks:
        lines.append(f"  {marks[check.status]}  {check.subject:<20} {check.detail}")
        if check.fix and check.status in ("fail", "warn"):
            lines.append(f"        {'':<20} fix: {check.fix}")
    failures = sum(check.status == "fail" for check in checks)
    lines.append("")
    lines.append(
        f"{failures} problem(s) found; see docs/troubleshooting.md."
        if failures
        else "Everything answers. Bon appétit."
    )
    return "\n".join(lines)


def _start_fix(service: Service, settings: Settings) -> str:
    record = PidRecord.read(pid_file(settings.state_dir, service.name))
    if record is not None and not record.is_running():
        return (
            f"the stack started it (pid {record.pid}) but it exited: read "
            f"{log_file(settings.state_dir, service.name)}, then `make down` and "
            "`make demo`"
        )
    return f"start the stack with `make demo`; {_IMPACT[service.name]}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ops.doctor``."""
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: {describe_settings_error(exc)}", file=sys.stderr)
        return 2
    print(
        f"Checking the restaurant on {settings.host} ({settings.resolved_tracking_uri})"
    )
    checks = run_checks(settings)
    print(render(checks), flush=True)
    return 1 if any(check.status == "fail" for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
