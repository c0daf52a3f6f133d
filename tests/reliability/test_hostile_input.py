"""Hand-written hostile input: each case gets a fitting answer; memory stays bounded."""

from __future__ import annotations

import httpx
import pytest

from bench.reliability_hostile import (
    MAX_RSS_GROWTH_MB,
    HostileCase,
    cases,
    run_hostile,
    slow_clients,
)
from tests.fixtures.serving import RunningScorer
from tests.reliability.conftest import explain

_NAMES = [case.name for case in cases({"AGE": 65, "RACE": "1"})]


def _case(scorer: RunningScorer, name: str) -> HostileCase:
    example = httpx.get(f"{scorer.base_url}/model", timeout=10).json()
    return next(c for c in cases(example["example_request"]) if c.name == name)


@pytest.mark.parametrize("name", _NAMES, ids=_NAMES)
def test_hostile_request_gets_a_fitting_answer(
    scorer_server: RunningScorer, name: str
) -> None:
    case = _case(scorer_server, name)

    status = case.send(scorer_server.base_url)

    assert status in case.expected, f"{name}: got {status}, expected {case.expected}"
    ready = httpx.get(f"{scorer_server.base_url}/health/ready", timeout=10)
    assert ready.status_code == 200


def test_slow_clients_trickling_bytes_do_not_starve_normal_requests(
    scorer_server: RunningScorer,
) -> None:
    result = slow_clients(scorer_server.base_url, seconds=5, clients=64)

    assert result["normal_failed"] == 0, explain(result)
    assert int(str(result["normal_requests"])) > 10, explain(result)
    assert result["passed"], explain(result)


def test_all_hostile_input_leaves_memory_bounded_and_the_scorer_ready(
    scorer_server: RunningScorer,
) -> None:
    result = run_hostile(scorer_server, slow_seconds=3)
    rss = result["rss_mb"]
    assert isinstance(rss, dict)

    assert rss["api_after"] - rss["api_before"] < MAX_RSS_GROWTH_MB, explain(result)
    assert rss["jvm_after"] - rss["jvm_before"] < MAX_RSS_GROWTH_MB, explain(result)
    assert result["ready_after"] == 200, explain(result)
