"""schemathesis against the live OpenAPI of a real scorer (CI size: about 150 cases)."""

from __future__ import annotations

from pathlib import Path

from bench.reliability_fuzz import fuzz
from tests.fixtures.serving import ADMIN_TOKEN, RunningScorer
from tests.reliability.conftest import explain

CI_EXAMPLES_PER_OPERATION = 30


def test_fuzzing_every_operation_finds_no_5xx_and_no_schema_violation(
    scorer_server: RunningScorer, tmp_path: Path
) -> None:
    result = fuzz(
        scorer_server,
        max_examples=CI_EXAMPLES_PER_OPERATION,
        admin_token=ADMIN_TOKEN,
        report_dir=tmp_path,
        max_seconds=150,
    )

    assert result["operations_tested"] == result["operations_total"], explain(result)
    assert int(str(result["cases_generated"])) >= 150, explain(result)
    assert result["server_errors_5xx"] == 0, explain(result)
    assert result["passed"], explain(result)
