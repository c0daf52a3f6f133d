"""Helpers of the reliability suite; its private registries are in tests/fixtures.

The checks themselves live in ``bench/reliability_*.py``; these tests run them
with CI-sized budgets against the session's trained model and scorers.
"""

from __future__ import annotations

import json


def explain(result: object) -> str:
    """A check's full result, for the assertion message."""
    return json.dumps(result, indent=2, default=str)
