"""Every page with the scorer down or hung: a readable message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.scorer_process import ScorerProcess, launch_scorer
from tests.fixtures.environment import free_port
from tests.fixtures.serving import registry_settings
from tests.fixtures.training import TrainedModel
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


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"scorer_url": "localhost:8000"}, "UI_SCORER_URL: UI_SCORER_URL must start"),
        ({"max_upload_mb": "lots"}, "UI_MAX_UPLOAD_MB: Input should be a valid number"),
        ({"request_timeout_s": "-1"}, "UI_REQUEST_TIMEOUT_S: Input should be greater"),
    ],
    ids=["url-without-scheme", "size-not-a-number", "negative-timeout"],
)
def test_invalid_setting_is_named_with_its_value(
    ui_app: AppFactory, settings: dict[str, str], expected: str
) -> None:
    url = settings.pop("scorer_url", "http://127.0.0.1:9")
    app = ui_app(url, **settings).run()

    assert not app.exception
    assert expected in texts(app.error)
    assert "(got " in texts(app.error)


def test_page_recovers_when_the_scorer_comes_back(
    ui_app: AppFactory,
    trained_model: TrainedModel,
    java_classes_dir: Path,
    tmp_path: Path,
) -> None:
    port = free_port()
    app = ui_app(f"http://127.0.0.1:{port}").run()
    assert "Scorer unreachable" in app.markdown[0].value

    scorer = _start_scorer_on(port, trained_model, java_classes_dir, tmp_path)
    try:
        app.button[0].click().run()
    finally:
        scorer.stop()

    assert not app.exception
    assert "Scorer ready" in app.markdown[0].value
    assert len(app.number_input) + len(app.selectbox) == len(
        trained_model.schema.features
    )


def _start_scorer_on(
    port: int, model: TrainedModel, java_classes_dir: Path, work_dir: Path
) -> ScorerProcess:
    """Start a scorer on a port chosen beforehand (the one the UI already uses)."""
    return launch_scorer(
        work_dir,
        port=port,
        **registry_settings(model),
        cache_dir=work_dir / "cache",
        java_classes_dir=java_classes_dir,
    )
