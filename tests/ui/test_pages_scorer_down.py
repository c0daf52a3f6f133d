"""Every page with the scorer down or hung: a readable message, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.fixtures.serving import RunningScorer
from tests.ui.conftest import AppFactory
from tests.ui.elements import texts

PAGES = ["views/predict.py", "views/batch.py", "views/model.py"]


@pytest.mark.parametrize("page", PAGES, ids=["predict", "batch", "model"])
def test_page_with_scorer_down_explains_what_to_check(
    ui_app: AppFactory, closed_port_url: str, page: str
) -> None:
    app = ui_app(closed_port_url).run()

    app.switch_page(page).run()

    assert not app.exception
    assert "Scorer unreachable" in app.markdown[0].value
    message = texts(app.error)
    assert f"Cannot reach the scorer at {closed_port_url}" in message
    assert "Troubleshooting section of README.md" in message
    assert [button.label for button in app.button] == ["Retry"]
    assert not app.number_input
    assert not app.file_uploader


def test_page_with_hung_scorer_says_it_did_not_answer_in_time(
    ui_app: AppFactory, silent_scorer_url: str
) -> None:
    app = ui_app(silent_scorer_url, status_timeout_s="0.3").run()

    assert not app.exception
    assert "Scorer not answering" in app.markdown[0].value
    assert "did not answer the readiness check within 0.3 s" in texts(app.error)


def test_invalid_scorer_url_setting_is_explained(ui_app: AppFactory) -> None:
    app = ui_app("localhost:8000").run()

    assert not app.exception
    assert "UI_SCORER_URL must start with http:// or https://" in texts(app.error)


def test_page_recovers_when_the_scorer_comes_back(
    ui_app: AppFactory, start_scorer: Any
) -> None:
    scorer = start_scorer()
    app = ui_app(scorer.base_url).run()
    assert "Scorer ready" in app.markdown[0].value

    scorer.stop()
    app.run()
    assert "Scorer unreachable" in app.markdown[0].value
    assert not app.exception

    restarted = _restart(scorer)
    try:
        app.button[0].click().run()
        assert not app.exception
        assert "Scorer ready" in app.markdown[0].value
        assert app.number_input
    finally:
        restarted.stop()


def _restart(scorer: RunningScorer) -> RunningScorer:
    """Start the stopped scorer again on the same port, with the same settings."""
    log_file = scorer.log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "serving"],
        cwd=scorer.work_dir,
        env=scorer.env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    restarted = RunningScorer(
        base_url=scorer.base_url,
        process=process,
        env=scorer.env,
        work_dir=scorer.work_dir,
        log_path=scorer.log_path,
        _log_file=log_file,
    )
    restarted.wait_ready()
    return restarted
