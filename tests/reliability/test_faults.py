"""Faults under traffic, each on its own scorer and a private copy of the registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench import reliability_faults as faults
from bench.reliability_registry import PrivateRegistry
from tests.fixtures.serving import RunningScorer
from tests.reliability.conftest import explain

StartScorer = Callable[..., RunningScorer]


def test_jvm_killed_under_load_gives_only_503s_then_full_service_without_api_restart(
    start_scorer: StartScorer, private_registry: PrivateRegistry
) -> None:
    result = faults.jvm_killed_under_load(start_scorer, private_registry)

    assert set(result["failed_statuses"]) <= {503}, explain(result)  # type: ignore[call-overload]
    assert result["failed_after_recovery"] == 0, explain(result)
    assert result["api_restarted"] is False, explain(result)
    assert float(str(result["recovered_s"])) < 30, explain(result)
    assert result["passed"], explain(result)


def test_alias_moved_under_load_fails_nothing_and_labels_each_answer_with_a_holder(
    start_scorer: StartScorer, private_registry: PrivateRegistry
) -> None:
    result = faults.alias_moves_under_load(start_scorer, private_registry, moves=2)

    assert result["failed"] == 0, explain(result)
    assert result["unlabelled_or_wrong_version"] == 0, explain(result)
    assert len(result["versions_in_responses"]) >= 2, explain(result)  # type: ignore[arg-type]


def test_corrupt_or_incompatible_version_is_refused_and_the_old_one_keeps_serving(
    start_scorer: StartScorer, private_registry: PrivateRegistry
) -> None:
    result = faults.bad_versions_refused(start_scorer, private_registry)

    assert result["failed"] == 0, explain(result)
    assert result["answers_not_from_the_good_version"] == 0, explain(result)
    assert result["passed"], explain(result)


def test_registry_unreachable_at_start_serves_from_cache(
    start_scorer: StartScorer, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    result = faults.registry_down_at_start(
        start_scorer, private_registry, tmp_path / "shared-cache", ready_within_s=30
    )

    assert result["passed"], explain(result)


def test_registry_down_while_polling_keeps_serving_and_backs_off(
    start_scorer: StartScorer, private_registry: PrivateRegistry
) -> None:
    result = faults.registry_down_while_polling(
        start_scorer, private_registry, outage_s=6
    )

    assert result["failed"] == 0, explain(result)
    assert result["backoff_grows"], explain(result)
    assert result["passed"], explain(result)


def test_cache_not_writable_gives_a_clear_error_and_no_crash(
    start_scorer: StartScorer, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    result = faults.cache_not_writable(
        start_scorer, private_registry, tmp_path / "cache-test"
    )

    assert result["passed"], explain(result)
