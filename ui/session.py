"""Per-session wiring: the settings, read once, and the shared scorer client."""

from __future__ import annotations

import streamlit as st

from ui.client import ScorerClient, ScorerError
from ui.config import Settings
from ui.schemas import ModelInfo
from ui.status import show_scorer_problem

_SETTINGS_KEY = "ui_settings"


def settings() -> Settings:
    """Return this session's settings, reading ``UI_*`` on the session's first run."""
    current = st.session_state.get(_SETTINGS_KEY)
    if not isinstance(current, Settings):
        current = Settings()
        st.session_state[_SETTINGS_KEY] = current
    return current


def scorer_client() -> ScorerClient:
    """Return the client for the session's scorer URL (one per process and URL)."""
    return _client_for(settings())


def load_model_info(client: ScorerClient) -> ModelInfo | None:
    """Fetch ``GET /model``; on failure show the reason and return None."""
    try:
        return client.model_info()
    except ScorerError as exc:
        show_scorer_problem(exc, retry_key="retry_model_info")
        return None


def _settings_key(value: Settings) -> str:
    # model_dump_json masks the secret; two keys must not share one client.
    secret = value.api_key.get_secret_value() if value.api_key else ""
    return value.model_dump_json() + secret


@st.cache_resource(show_spinner=False, hash_funcs={Settings: _settings_key})
def _client_for(current: Settings) -> ScorerClient:
    return ScorerClient(current)
