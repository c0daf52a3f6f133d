"""Faults under traffic: each measured as failed requests and time to recover.

Every check starts its own scorer on a private copy of the registry (see
:mod:`bench.reliability_registry`), runs :class:`TrafficRecorder` against it,
breaks one thing, and reads the record. Every wait is bounded.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx

from bench.reliability_registry import (
    PrivateRegistry,
    corrupt_mojo_files,
    incompatible_schema_files,
)
from bench.reliability_scorer import ScorerHandle, StartScorer
from bench.reliability_traffic import Outcome, TrafficRecorder, summarize
from bench.servers import free_port

ADMIN_TOKEN = "reliability-admin-token-0123456789"
_WAIT_S = 180.0
_SETTLE_S = 2.0
_POLL_FAILED = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "
    r".*registry poll failed \((\d+) in a row\)",
    re.MULTILINE,
)


def ready(scorer: ScorerHandle) -> tuple[int, dict[str, object]]:
    """Status and body of /health/ready (0 and {} when nothing answers)."""
    try:
        response = httpx.get(f"{scorer.base_url}/health/ready", timeout=5)
        body: dict[str, object] = response.json()
    except (httpx.HTTPError, ValueError):
        return 0, {}
    return response.status_code, body


def served_version(scorer: ScorerHandle) -> str | None:
    """The version /health/ready reports, if ready."""
    status, body = ready(scorer)
    model = body.get("model")
    if status != 200 or not isinstance(model, dict):
        return None
    return str(model.get("version"))


def metric(scorer: ScorerHandle, name: str, labels: str = "") -> float:
    """One sample from /metrics (0.0 when absent); ``labels`` as in the text."""
    text = httpx.get(f"{scorer.base_url}/metrics", timeout=5).text
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_for(condition: Callable[[], bool], timeout_s: float = _WAIT_S) -> float:
    """Poll ``condition`` every 50 ms; seconds it took, or raise after the timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"condition not met within {timeout_s:.0f} s")


def jvm_killed_under_load(
    start_scorer: StartScorer, registry: PrivateRegistry, *, connections: int = 4
) -> dict[str, object]:
    """SIGKILL the JVM under traffic: only 503s meanwhile, then full service."""
    scorer = start_scorer(**registry.scorer_settings(), admin_token=ADMIN_TOKEN)
    api_pid = scorer.process.pid
    traffic = TrafficRecorder(scorer.base_url, connections=connections).start()
    time.sleep(_SETTLE_S)
    victims = scorer.jvm_pids()
    killed_at = time.monotonic()
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    recovered_s = wait_for(
        lambda: (
            ready(scorer)[0] == 200
            and bool(scorer.jvm_pids())
            and not set(scorer.jvm_pids()) & set(victims)
        )
    )
    time.sleep(_SETTLE_S * 1.5)
    outcomes = traffic.stop()
    failures = [o for o in outcomes if o.status != 200]
    after = [o for o in outcomes if o.started > killed_at + recovered_s + 0.5]
    statuses = {o.status for o in failures}
    last_failure_s = max((o.ended - killed_at for o in failures), default=0.0)
    return {
        **summarize(outcomes),
        "jvms_killed": len(victims),
        "recovered_s": round(recovered_s, 2),
        "last_failure_after_kill_s": round(last_failure_s, 2),
        "failed_statuses": sorted(statuses),
        "requests_after_recovery": len(after),
        "failed_after_recovery": sum(1 for o in after if o.status != 200),
        "api_restarted": scorer.process.poll() is not None
        or scorer.process.pid != api_pid,
        "jvm_restarts_metric": metric(scorer, "scorer_jvm_restarts_total"),
        "passed": statuses <= {503}
        and bool(after)
        and all(o.status == 200 for o in after)
        and scorer.process.poll() is None,
    }


def alias_moves_under_load(
    start_scorer: StartScorer,
    registry: PrivateRegistry,
    *,
    moves: int,
    connections: int = 4,
) -> dict[str, object]:
    """Move the alias ``moves`` times under traffic; answers only from holders."""
    versions = [
        registry.first_version,
        registry.copy_version(),
        registry.copy_version(),
    ]
    registry.move_alias(registry.first_version)
    scorer = start_scorer(
        **registry.scorer_settings(), poll_interval_s=0.5, admin_token=ADMIN_TOKEN
    )
    held_since = {registry.first_version: float("-inf")}
    switch_times: list[float] = []
    traffic = TrafficRecorder(scorer.base_url, connections=connections).start()
    time.sleep(_SETTLE_S)
    for move in range(moves):
        version = versions[(move + 1) % len(versions)]
        moved_at = time.monotonic()
        registry.move_alias(version)
        held_since.setdefault(version, moved_at)
        switch_times.append(
            wait_for(lambda v=version: served_version(scorer) == v)  # type: ignore[misc]
        )
        time.sleep(0.5)
    time.sleep(_SETTLE_S)
    outcomes = traffic.stop()
    mislabelled = [o for o in outcomes if o.status == 200 and not _held(o, held_since)]
    seen = sorted({o.version for o in outcomes if o.version}, key=int)
    return {
        **summarize(outcomes),
        "moves": moves,
        "versions_that_held_the_alias": sorted(held_since, key=int),
        "versions_in_responses": seen,
        "unlabelled_or_wrong_version": len(mislabelled),
        "switch_s": {
            "max": round(max(switch_times), 2),
            "mean": round(sum(switch_times) / len(switch_times), 2),
        },
        "passed": all(o.status == 200 for o in outcomes) and not mislabelled,
    }


def _held(outcome: Outcome, held_since: dict[str, float]) -> bool:
    """The answering version held the alias before the answer arrived."""
    since = held_since.get(outcome.version or "")
    return since is not None and since <= outcome.ended


def bad_versions_refused(
    start_scorer: StartScorer, registry: PrivateRegistry, *, connections: int = 4
) -> dict[str, object]:
    """Register and alias a corrupt MOJO, then a schema the MOJO contradicts."""
    good = registry.first_version
    registry.move_alias(good)
    scorer = start_scorer(
        **registry.scorer_settings(), poll_interval_s=0.5, admin_token=ADMIN_TOKEN
    )
    traffic = TrafficRecorder(scorer.base_url, connections=connections).start()
    time.sleep(_SETTLE_S)
    files = registry.model_files()
    refusals = []
    for label, broken in (
        ("corrupt MOJO (not a zip)", corrupt_mojo_files(files)),
        ("schema with class labels the MOJO lacks", incompatible_schema_files(files)),
    ):
        version = registry.register_files(broken, label.split()[0])
        failed_before = metric(scorer, "scorer_reloads_total", 'outcome="failed"')
        moved_at = time.monotonic()
        registry.move_alias(version)
        refused_s = wait_for(
            lambda v=version: (
                f"version {v}:"  # type: ignore[misc]
                in str(ready(scorer)[1].get("last_reload_error") or "")
            )
        )
        status, body = ready(scorer)
        refusals.append(
            {
                "case": label,
                "version": version,
                "refused_after_s": round(refused_s, 2),
                "ready_status": status,
                "still_serving": served_version(scorer),
                "last_reload_error": body.get("last_reload_error"),
                "reloads_failed_metric_delta": metric(
                    scorer, "scorer_reloads_total", 'outcome="failed"'
                )
                - failed_before,
                "moved_at": moved_at,
            }
        )
        time.sleep(1.0)
    outcomes = traffic.stop()
    wrong_version = [o for o in outcomes if o.status == 200 and o.version != good]
    for refusal in refusals:
        refusal.pop("moved_at")
    return {
        **summarize(outcomes),
        "refusals": refusals,
        "answers_not_from_the_good_version": len(wrong_version),
        "passed": all(o.status == 200 for o in outcomes)
        and not wrong_version
        and all(
            r["ready_status"] == 200
            and r["still_serving"] == good
            and float(str(r["reloads_failed_metric_delta"])) >= 1
            for r in refusals
        ),
    }


def registry_down_at_start(
    start_scorer: StartScorer,
    registry: PrivateRegistry,
    cache_dir: Path,
    *,
    ready_within_s: float = 30.0,
) -> dict[str, object]:
    """A scorer fills the cache; others start with the registry unreachable."""
    first = start_scorer(**registry.scorer_settings(), cache_dir=cache_dir)
    version = served_version(first)
    first.stop()
    variants = {
        "sqlite store missing": f"sqlite:///{registry.folder / 'gone' / 'mlflow.db'}",
        "MLflow server not listening": f"http://127.0.0.1:{free_port()}",
    }
    results = []
    for name, tracking_uri in variants.items():
        results.append(
            _start_from_cache(
                start_scorer, registry, cache_dir, tracking_uri, ready_within_s
            )
            | {"case": name, "cached_version": version}
        )
    return {
        "ready_within_s": ready_within_s,
        "variants": results,
        "passed": all(r["passed"] for r in results),
    }


def _start_from_cache(
    start_scorer: StartScorer,
    registry: PrivateRegistry,
    cache_dir: Path,
    tracking_uri: str,
    ready_within_s: float,
) -> dict[str, object]:
    started = time.monotonic()
    scorer = start_scorer(
        tracking_uri=tracking_uri,
        model_name=registry.model_name,
        model_alias="production",
        cache_dir=cache_dir,
        wait=False,
    )
    try:
        scorer.wait_ready(timeout_s=ready_within_s)
    except RuntimeError:
        scorer.stop()
        return {
            "tracking_uri": tracking_uri,
            "start_to_ready_s": None,
            "problem": f"not ready within {ready_within_s:.0f} s",
            "log_tail": scorer.log_text()[-1500:],
            "passed": False,
        }
    to_ready = time.monotonic() - started
    status, body = ready(scorer)
    example = httpx.get(f"{scorer.base_url}/model", timeout=10).json()
    predicted = httpx.post(
        f"{scorer.base_url}/predict", json=example["example_request"], timeout=10
    )
    scorer.stop()
    model = body.get("model")
    return {
        "tracking_uri": tracking_uri,
        "start_to_ready_s": round(to_ready, 2),
        "source": body.get("source"),
        "version": model.get("version") if isinstance(model, dict) else None,
        "predict_status": predicted.status_code,
        "passed": status == 200
        and body.get("source") == "cache"
        and predicted.status_code == 200,
    }


def registry_down_while_polling(
    start_scorer: StartScorer,
    registry: PrivateRegistry,
    *,
    outage_s: float,
    connections: int = 4,
) -> dict[str, object]:
    """Take the registry away under traffic, then back with a new version."""
    registry.move_alias(registry.first_version)
    scorer = start_scorer(**registry.scorer_settings(), poll_interval_s=0.5)
    traffic = TrafficRecorder(scorer.base_url, connections=connections).start()
    time.sleep(_SETTLE_S)
    hidden = registry.take_offline()
    time.sleep(outage_s)
    failures_metric = metric(scorer, "scorer_registry_poll_failures_total")
    registry.bring_online(hidden)
    new_version = registry.copy_version()
    back_at = time.monotonic()
    registry.move_alias(new_version)
    recovered_s = wait_for(lambda: served_version(scorer) == new_version)
    outcomes = traffic.stop()
    gaps = poll_failure_gaps(scorer.log_text())
    return {
        **summarize(outcomes),
        "outage_s": outage_s,
        "poll_failures": failures_metric,
        "gaps_between_failed_polls_s": gaps,
        "backoff_grows": len(gaps) >= 2 and gaps[-1] > gaps[0],
        "new_version_served_after_s": round(recovered_s, 2),
        "back_online_to_served_s": round(time.monotonic() - back_at, 2),
        "passed": all(o.status == 200 for o in outcomes)
        and failures_metric >= 2
        and len(gaps) >= 2
        and gaps[-1] > gaps[0],
    }


def poll_failure_gaps(log: str) -> list[float]:
    """Seconds between consecutive 'registry poll failed' log lines."""
    stamps = [
        datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
        for match in _POLL_FAILED.finditer(log)
    ]
    return [
        round((later - earlier).total_seconds(), 2)
        for earlier, later in itertools.pairwise(stamps)
    ]


def cache_not_writable(
    start_scorer: StartScorer, registry: PrivateRegistry, folder: Path
) -> dict[str, object]:
    """A cache under a regular file: at start (clear error) and while serving."""
    folder.mkdir(parents=True, exist_ok=True)
    blocker = folder / "not-a-folder"
    blocker.write_text("a file where the cache folder should be\n")
    registry.move_alias(registry.first_version)

    at_start = start_scorer(
        **registry.scorer_settings(), cache_dir=blocker / "cache", wait=False
    )
    wait_for(lambda: ready(at_start)[1].get("last_reload_error") is not None)
    time.sleep(1.0)
    start_status, start_body = ready(at_start)
    start_error = str(start_body.get("last_reload_error") or "")
    live = httpx.get(f"{at_start.base_url}/health/live", timeout=5).status_code

    cache = folder / "cache"
    serving = start_scorer(
        **registry.scorer_settings(), cache_dir=cache, poll_interval_s=0.5
    )
    traffic = TrafficRecorder(serving.base_url, connections=2).start()
    time.sleep(_SETTLE_S)
    cache.rename(folder / "cache-moved")
    cache.write_text("a file where the cache folder should be\n")
    new_version = registry.copy_version()
    registry.move_alias(new_version)
    wait_for(
        lambda: (
            f"version {new_version}:"
            in str(ready(serving)[1].get("last_reload_error") or "")
        )
    )
    time.sleep(1.0)
    outcomes = traffic.stop()
    status, body = ready(serving)
    return {
        "at_start": {
            "live_status": live,
            "ready_status": start_status,
            "process_running": at_start.process.poll() is None,
            "error": start_error,
        },
        "while_serving": {
            **summarize(outcomes),
            "ready_status": status,
            "still_serving": served_version(serving),
            "error": body.get("last_reload_error"),
        },
        "passed": live == 200
        and start_status == 503
        and at_start.process.poll() is None
        and "SERVING_CACHE_DIR" in start_error
        and all(o.status == 200 for o in outcomes)
        and status == 200
        and served_version(serving) == registry.first_version
        and "SERVING_CACHE_DIR" in str(body.get("last_reload_error")),
    }
