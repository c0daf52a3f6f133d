"""Small readers for AppTest element trees."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from streamlit.testing.v1 import AppTest


def texts(elements: Iterable[Any]) -> str:
    """Join the values of AppTest elements into one searchable string."""
    return "\n".join(str(element.value) for element in elements)


def chart_specs(app: AppTest) -> list[dict[str, Any]]:
    """Return the Vega-Lite specs of the altair charts on the page."""
    return [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]


def page_text(app: AppTest) -> str:
    """Everything a reader sees as text: markdown, captions, alerts, metrics."""
    parts = [
        texts(app.markdown),
        texts(app.caption),
        texts(app.error),
        texts(app.warning),
        texts(app.info),
        "\n".join(f"{metric.label}: {metric.value}" for metric in app.metric),
    ]
    return "\n".join(parts)
