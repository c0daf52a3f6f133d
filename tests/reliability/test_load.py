"""Mixed load at 16 connections (CI size: 8 s warm-up, 20 s measured)."""

from __future__ import annotations

from bench.reliability_load import MAX_GROWTH, soak
from tests.fixtures.serving import RunningScorer
from tests.reliability.conftest import explain


def test_mixed_load_at_16_connections_fails_nothing_and_memory_stays_flat(
    scorer_server: RunningScorer,
) -> None:
    result = soak(scorer_server, seconds=20, warmup_s=8, connections=16)

    assert int(str(result["requests"])) > 1000, explain(result)
    assert result["failed"] == 0, explain(result)
    assert float(str(result["api_growth"])) < MAX_GROWTH, explain(result)
    assert float(str(result["jvm_growth"])) < MAX_GROWTH, explain(result)
