"""Entry point of the demo UI: ``streamlit run ui/app.py``.

It draws the status line, then runs the chosen page. Every page reaches the
model through the scorer's HTTP API only (``ui.client``).
"""

from __future__ import annotations

import logging

import streamlit as st
from pydantic import ValidationError

from ui import session
from ui.config import describe_settings_error
from ui.status import render_status_line


def main() -> None:
    """Configure the page, show the scorer's status and run the selected page."""
    st.set_page_config(
        page_title="MOJO scorer demo", page_icon=":material/bolt:", layout="wide"
    )
    navigation = st.navigation(
        [
            st.Page("views/predict.py", title="Predict", icon=":material/target:"),
            st.Page("views/batch.py", title="Batch", icon=":material/table_view:"),
            st.Page("views/model.py", title="Model", icon=":material/model_training:"),
        ],
        position="top",
    )
    try:
        settings = session.settings()
    except ValidationError as exc:
        st.error(
            f"The UI settings are invalid; fix these variables and restart the "
            f"UI:\n\n{describe_settings_error(exc)}",
            icon=":material/settings:",
        )
        return
    _configure_logging(settings.log_level)
    if render_status_line(session.scorer_client()) is None:
        return
    navigation.run()


def _configure_logging(level: str) -> None:
    # Streamlit configures only its own loggers; the ui.* ones get one handler.
    logger = logging.getLogger("ui")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        logger.addHandler(handler)


main()
