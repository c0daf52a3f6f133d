"""Session-wide fixtures: each area keeps its own in ``tests/fixtures``."""

pytest_plugins = [
    "tests.fixtures.environment",
    "tests.fixtures.mojo",
    "tests.fixtures.training",
    "tests.fixtures.serving",
]
