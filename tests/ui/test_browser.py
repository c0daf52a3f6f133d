"""The app in Debian's chromium: `streamlit run` on loopback, driven by Playwright.

Screenshots land in artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.fixtures.environment import free_port
from tests.fixtures.training import TrainedModel
from tests.ui.conftest import APP_PATH, SCORER_API_KEY

pytestmark = pytest.mark.browser

REPO_ROOT = APP_PATH.parents[1]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 60.0
WAIT_MS = 30_000


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1.0).text == "ok":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer at {url} in {STARTUP_TIMEOUT_S} s")


@contextmanager
def _streamlit(scorer_url: str, log_path: Path, **settings: str) -> Iterator[str]:
    """`streamlit run ui/app.py` on a free loopback port, pointed at ``scorer_url``."""
    port = free_port()
    env = {**os.environ, "UI_SCORER_URL": scorer_url}
    env.update({f"UI_{name.upper()}": value for name, value in settings.items()})
    command = [
        *(sys.executable, "-m", "streamlit", "run", str(APP_PATH)),
        *("--server.headless", "true", "--browser.gatherUsageStats", "false"),
        *("--server.address", "127.0.0.1", "--server.port", str(port)),
        *("--server.fileWatcherType", "none", "--client.toolbarMode", "viewer"),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def ui_url(
    scorer_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The UI in front of the session's scorer (binary model)."""
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with _streamlit(scorer_server.base_url, log_path) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright; never a Playwright browser download."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not found; install it with `apt-get install -y chromium`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def _screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Under load Streamlit shows grey placeholders until each element arrives.
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=WAIT_MS)
    page.wait_for_timeout(800)  # let the charts finish drawing
    page.screenshot(path=str(SCREENSHOTS / name))


def test_browser_first_open_shows_status_and_form(
    page: Any, ui_url: str, trained_model: TrainedModel
) -> None:
    page.goto(ui_url)

    page.get_by_text("Scorer ready").wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Predict").wait_for(timeout=WAIT_MS)
    version = f"{trained_model.model_name} version {trained_model.version}"
    expect(page.get_by_text(version).first).to_be_visible()
    for name in trained_model.schema.feature_names:
        page.get_by_label(name, exact=True).wait_for(timeout=WAIT_MS)
    _screenshot(page, "ui-first-open.png")


def test_browser_form_filled_and_predicted(
    page: Any, ui_url: str, trained_model: TrainedModel
) -> None:
    numeric = next(f for f in trained_model.schema.features if f.kind == "numeric")
    page.goto(ui_url)
    field = page.get_by_label(numeric.name, exact=True)
    field.wait_for(timeout=WAIT_MS)

    field.fill(f"{numeric.stats.max:g}")
    page.get_by_role("button", name="Predict").click()

    page.get_by_text("Answered by").wait_for(timeout=WAIT_MS)
    answer = page.get_by_test_id("stMetricValue").first
    expect(answer).to_be_visible(timeout=WAIT_MS)
    assert answer.inner_text().split(" ")[0] in trained_model.schema.class_labels
    _screenshot(page, "ui-predict.png")


def test_browser_csv_uploaded_and_scored_table_shown(
    page: Any, ui_url: str, trained_model: TrainedModel, tmp_path: Path
) -> None:
    csv_path = tmp_path / "holdout.csv"
    trained_model.holdout.to_csv(csv_path, index=False)
    rows = len(trained_model.holdout)
    page.set_viewport_size({"width": 1400, "height": 1900})
    page.goto(f"{ui_url}/batch")
    page.locator("input[type=file]").wait_for(state="attached", timeout=WAIT_MS)

    page.locator("input[type=file]").set_input_files(str(csv_path))
    page.get_by_role("button", name=f"Score {rows} rows").click()

    page.get_by_text(f"{rows} rows scored in").wait_for(timeout=WAIT_MS)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(2, timeout=WAIT_MS)
    expect(page.get_by_text("Download scored CSV")).to_be_visible(timeout=WAIT_MS)
    _screenshot(page, "ui-batch.png")


def test_browser_model_page_shows_version_and_leaderboard(
    page: Any, ui_url: str, trained_model: TrainedModel
) -> None:
    page.set_viewport_size({"width": 1400, "height": 1500})
    page.goto(f"{ui_url}/model")

    page.get_by_text("Leaderboard (top rows)").wait_for(timeout=WAIT_MS)
    heading = page.get_by_role("heading", name=f"Model {trained_model.model_name}")
    expect(heading).to_have_count(1, timeout=WAIT_MS)
    importance = page.get_by_role("heading", name="Variable importance")
    expect(importance).to_be_visible(timeout=WAIT_MS)
    version = page.get_by_test_id("stMetricValue").first
    expect(version).to_have_text(trained_model.version, timeout=WAIT_MS)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(2, timeout=WAIT_MS)
    _screenshot(page, "ui-model.png")


def test_browser_unknown_level_typed_in_gets_the_scorers_warning(
    page: Any,
    trained_models_by_task: dict[str, TrainedModel],
    regression_scorer: Any,
    tmp_path: Path,
) -> None:
    model = trained_models_by_task["regression"]
    feature = next(f for f in model.schema.features if f.kind == "categorical")
    scorer_url = regression_scorer.base_url
    log_path = tmp_path / "streamlit.log"

    with _streamlit(scorer_url, log_path, api_key=SCORER_API_KEY) as url:
        page.goto(url)
        box = page.get_by_label(feature.name, exact=True)
        box.wait_for(timeout=WAIT_MS)
        box.click()
        box.fill("never-seen-level")
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Predict").click()

        warning = page.get_by_test_id("stAlert").filter(has_text="unknown_level")
        expect(warning).to_contain_text(feature.name, timeout=WAIT_MS)
        expect(warning).to_contain_text("never-seen-level")
        _screenshot(page, "ui-unknown-level.png")
