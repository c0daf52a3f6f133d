"""Entry point of the demo UI: ``streamlit run ui/app.py``.

It draws the status line, then runs the chosen page. Every page reaches the
model through the scorer's HTTP API only (``ui.client``).
"""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from ui import session
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
        client = session.scorer_client()
    except ValidationError as exc:
        st.error(
            "The UI settings are invalid: "
            + "; ".join(str(error["msg"]) for error in exc.errors())
        )
        return
    if render_status_line(client) is None:
        return
    navigation.run()


main()
