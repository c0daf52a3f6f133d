"""Every page with the scorer down or hung: a readable message, never a traceback."""

from __future__ import annotations

import pytest

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
    assert "did not answer the readiness check within 0.3 s" in texts(app.error)


def test_invalid_scorer_url_setting_is_explained(ui_app: AppFactory) -> None:
    app = ui_app("localhost:8000").run()

    assert not app.exception
    assert "UI_SCORER_URL must start with http:// or https://" in texts(app.error)
