"""UI fixtures: the app under AppTest, scorers for other tasks, dead and hung URLs."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.fixtures.environment import free_port
from tests.fixtures.serving import RunningScorer, launch_scorer, registry_settings
from tests.fixtures.training import TrainedModel

APP_PATH = Path(__file__).resolve().parents[2] / "ui" / "app.py"
# A script run talks to a real scorer and a JVM; the default 3 s is too tight
# on two shared cores.
APP_RUN_TIMEOUT_S = 60.0

# The regression scorer also demands an API key, so that the pages are shown
# to work through UI_API_KEY.
SCORER_API_KEY = "ui-tests-api-key-0123456789"

AppFactory = Callable[..., AppTest]


@pytest.fixture
def ui_app(monkeypatch: pytest.MonkeyPatch) -> AppFactory:
    """Build an AppTest of ui/app.py whose settings point at ``scorer_url``."""

    def build(scorer_url: str, **settings: str) -> AppTest:
        monkeypatch.setenv("UI_SCORER_URL", scorer_url)
        for name, value in settings.items():
            monkeypatch.setenv(f"UI_{name.upper()}", value)
        return AppTest.from_file(APP_PATH, default_timeout=APP_RUN_TIMEOUT_S)

    return build


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on which nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def silent_scorer_url() -> Iterator[str]:
    """A loopback URL that accepts connections and never answers (a hung scorer)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture(scope="session")
def regression_scorer(
    trained_models_by_task: dict[str, TrainedModel],
    java_classes_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningScorer]:
    """A scorer serving the regression model, behind SCORER_API_KEY."""
    work_dir = tmp_path_factory.mktemp("ui-regression-scorer")
    scorer = launch_scorer(
        work_dir,
        **registry_settings(trained_models_by_task["regression"]),
        cache_dir=work_dir / "cache",
        java_classes_dir=java_classes_dir,
        api_key=SCORER_API_KEY,
    )
    yield scorer
    scorer.stop()
