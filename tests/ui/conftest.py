"""UI fixtures: the app under AppTest, a closed port and a scorer that never answers."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.fixtures.environment import free_port

APP_PATH = Path(__file__).resolve().parents[2] / "ui" / "app.py"
# A script run talks to a real scorer and a JVM; the default 3 s is too tight
# on two shared cores.
APP_RUN_TIMEOUT_S = 60.0

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
