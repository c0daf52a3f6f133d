"""Security: tokens and keys, the JVM gateway, no unpickling, logs, CORS, images."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from bench import reliability_security as security
from bench.reliability_artifacts import artifact_paths_confined
from bench.reliability_registry import PrivateRegistry
from bench.reliability_scorer import java_children
from tests.fixtures.environment import free_port
from tests.fixtures.serving import RunningScorer
from tests.reliability.conftest import explain
from training.cluster import h2o_session
from training.config import Settings

StartScorer = Callable[..., RunningScorer]


def test_admin_token_and_api_key_are_enforced_and_never_logged_at_info(
    start_scorer: StartScorer, private_registry: PrivateRegistry
) -> None:
    result = security.auth_and_logs(start_scorer, private_registry)

    assert result["mismatches"] == {}, explain(result)
    assert result["secrets_in_info_log"] == [], explain(result)


def test_without_settings_admin_is_disabled_predictions_open_and_cors_closed(
    start_scorer: StartScorer, private_registry: PrivateRegistry
) -> None:
    # The configured-CORS control costs one more scorer; the full run has it.
    result = security.open_by_default(
        start_scorer, private_registry, configured_cors=False
    )

    assert result["admin_reload_without_admin_token_configured"] == 404, explain(result)
    assert result["cors_default_foreign_origin"] == {
        "preflight": None,
        "simple": None,
    }, explain(result)
    assert result["passed"], explain(result)


def test_jvm_gateway_listens_on_loopback_only_and_refuses_calls_without_token(
    scorer_server: RunningScorer,
) -> None:
    result = security.gateway_locked(scorer_server)

    assert result["jvm_listening"], explain(result)
    assert result["passed"], explain(result)


def test_scorer_never_unpickles_and_serves_a_booby_trapped_pyfunc_inert(
    start_scorer: StartScorer, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    marker = tmp_path / "TRAP-FIRED"

    result = security.pickle_free(start_scorer, private_registry, marker)

    assert result["unpickling_uses_in_serving"] == [], explain(result)
    assert result["trap_fires_when_unpickled"], explain(result)
    assert result["trap_version_served"], explain(result)
    assert not marker.exists(), explain(result)


def test_unpickling_scan_finds_a_planted_pickle_load(tmp_path: Path) -> None:
    package = tmp_path / "planted"
    package.mkdir()
    (package / "bad.py").write_text(
        "import pickle\nimport mlflow.pyfunc\n\n"
        "def load(path):\n"
        "    mlflow.pyfunc.load_model(path)\n"
        "    return pickle.loads(open(path, 'rb').read())\n"
    )

    found = security.unpickling_uses(package)

    assert len(found) == 3, found


def test_secrets_are_compared_in_constant_time() -> None:
    result = security.admin_compare_is_constant_time()

    assert result["naive_secret_comparisons"] == [], explain(result)
    assert result["passed"], explain(result)


def test_h2o_port_is_never_published_and_images_run_as_non_root() -> None:
    result = security.deployment_files()

    assert result["h2o_port_published"] == [], explain(result)
    assert result["root_users"] == {}, explain(result)
    assert result["passed"], explain(result)


def test_training_h2o_listens_on_loopback_only_and_is_gone_after_training(
    tmp_path: Path,
) -> None:
    port = free_port()
    settings = Settings.model_validate(
        {"h2o_port": port, "h2o_memory": "512M", "h2o_threads": 1}
    )

    with h2o_session(settings, tmp_path):
        # Only the JVM this session started: the test session has its own H2O too.
        by_jvm = [security.listening_sockets(pid) for pid in java_children(os.getpid())]
        listening = [found for found in by_jvm if port in {p for _, p in found}]
        open_during = not security.h2o_port_closed(port)
    closed_after_s = security.wait_port_closed(port, timeout_s=30)

    assert len(listening) == 1, listening
    assert {host for host, _ in listening[0]} == {"127.0.0.1"}, listening
    assert open_during
    assert closed_after_s is not None, "H2O still listens 30 s after training"


def test_artifact_paths_from_a_hostile_registry_never_leave_the_cache(
    start_scorer: StartScorer, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    result = artifact_paths_confined(
        start_scorer, private_registry, tmp_path / "escape"
    )

    assert result["files_outside_cache"] == [], explain(result)
    assert result["passed"], explain(result)
