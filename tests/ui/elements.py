"""Small readers for AppTest element trees."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest


def texts(elements: Iterable[Any]) -> str:
    """Join the values of AppTest elements into one searchable string."""
    return "\n".join(str(element.value) for element in elements)


def chart_specs(app: AppTest) -> list[dict[str, Any]]:
    """Return the Vega-Lite specs of the altair charts on the page."""
    return [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]


def chart_data(app: AppTest) -> list[pd.DataFrame]:
    """Return the data behind each altair chart on the page, one frame per chart."""
    frames = []
    for chart in app.get("vega_lite_chart"):
        buffers = [dataset.data.data for dataset in chart.proto.datasets]
        if chart.proto.data.data:
            buffers.append(chart.proto.data.data)
        parts = [pa.ipc.open_stream(buffer).read_pandas() for buffer in buffers]
        frames.append(pd.concat(parts, ignore_index=True))
    return frames


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
