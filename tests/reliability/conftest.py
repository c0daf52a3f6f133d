"""Fixtures of the reliability suite: the trained model as a source, private registries.

The checks themselves live in ``bench/reliability_*.py``; these tests run them
with CI-sized budgets against the session's trained model and scorers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.reliability_registry import ModelSource, PrivateRegistry
from tests.fixtures.training import TrainedModel


@pytest.fixture(scope="session")
def model_source(trained_model: TrainedModel) -> ModelSource:
    """The session's trained model, as the reliability checks describe it."""
    return ModelSource(
        tracking_uri=trained_model.tracking_uri,
        model_name=trained_model.model_name,
        version=trained_model.version,
        model_dir=trained_model.model_dir,
    )


@pytest.fixture
def private_registry(model_source: ModelSource, tmp_path: Path) -> PrivateRegistry:
    """A copy of the session's registry that a test may change at will."""
    return PrivateRegistry(model_source, tmp_path / "registry")


def explain(result: object) -> str:
    """A check's full result, for the assertion message."""
    return json.dumps(result, indent=2, default=str)
