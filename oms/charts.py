"""Dashboard charts as plotly figures (plotly.js, served from the plotly
package by oms.staticfiles; drawn by static/oms/dashboard.js).

The figures are built with plotly's graph objects, so a wrong property fails
here rather than in the browser, and handed to the template as plain JSON."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

_LAYOUT = {
    "margin": {"l": 48, "r": 16, "t": 32, "b": 40},
    "legend": {"orientation": "h", "y": -0.2},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, sans-serif", "size": 12},
}


def _figure(traces: list, title: str, **layout) -> dict:
    title_layout = {"text": title, "font": {"size": 14}}
    return go.Figure(data=traces, layout={**_LAYOUT, "title": title_layout, **layout}).to_plotly_json()


def bar_chart(labels: Sequence, series: dict[str, Sequence], title: str = "", stacked: bool = True) -> dict:
    traces = [go.Bar(name=str(name), x=list(labels), y=list(values)) for name, values in series.items()]
    return _figure(traces, title, barmode="stack" if stacked else "group")


def line_chart(x: Sequence, series: dict[str, Sequence], title: str = "", dashed: Sequence[str] = ()) -> dict:
    traces = [
        go.Scatter(
            name=str(name),
            x=list(x),
            y=list(values),
            mode="lines",
            line={"dash": "dash"} if name in dashed else {},
        )
        for name, values in series.items()
    ]
    return _figure(traces, title)
