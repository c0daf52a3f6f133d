"""The status line on top of every page, and how scorer problems are shown."""

from __future__ import annotations

import streamlit as st

from ui.client import ScorerClient, ScorerError, ScorerTimeout, ScorerUnreachable
from ui.schemas import ReadyStatus


def render_status_line(client: ScorerClient) -> ReadyStatus | None:
    """Show whether the scorer is reachable and ready, and which model it serves."""
    try:
        ready = client.ready()
    except ScorerError as exc:
        st.markdown(f":red-badge[{_trouble_badge(exc)}] `{client.base_url}`")
        show_scorer_problem(exc, retry_key="retry_status")
        return None

    model = ready.model.describe() if ready.model else "no model loaded"
    source = f" · from {ready.source}" if ready.source else ""
    if ready.is_ready:
        badge = ":green-badge[:material/check_circle: Scorer ready]"
    else:
        badge = ":orange-badge[:material/hourglass_top: Scorer not ready]"
    st.markdown(f"{badge} `{client.base_url}` · model **{model}**{source}")
    if not ready.is_ready:
        reason = ready.last_reload_error or f"status {ready.status!r}, JVM {ready.jvm}"
        st.warning(
            f"The scorer answers but is not ready to predict ({reason}). "
            f"{ScorerError.hint}",
            icon=":material/hourglass_top:",
        )
    return ready


def show_scorer_problem(exc: ScorerError, *, retry_key: str) -> None:
    """Explain a failed scorer call and offer a retry (a rerun of the page)."""
    st.error(f"{exc.message}\n\n{exc.hint}", icon=":material/error:")
    st.button("Retry", key=retry_key, icon=":material/refresh:")


def _trouble_badge(exc: ScorerError) -> str:
    if isinstance(exc, ScorerUnreachable):
        return ":material/cloud_off: Scorer unreachable"
    if isinstance(exc, ScorerTimeout):
        return ":material/timer_off: Scorer not answering"
    return ":material/error: Scorer error"
