"""Plotly charts of comparisons and evaluations: linked image panels, score bars, curves.

Pure figure builders (no Streamlit), each taking arrays or the tidy tables of
:mod:`seglib.comparison` and :mod:`seglib.sweeps`:

- :func:`image_grid`: pictures side by side whose zoom and pan move together
  (:func:`image_trace` makes each picture's trace, which callers may cache);
- :func:`metric_bars`, :func:`class_iou_bars`: grouped bar charts of scores;
- :func:`confusion_heatmap`: a row-normalised confusion matrix;
- :func:`sensitivity_figure`, :func:`robustness_figure`: a metric as a
  parameter or a degradation varies.

>>> import pandas as pd
>>> table = pd.DataFrame({"method": ["otsu", "kmeans"], "IoU": [0.8, 0.6]})
>>> [trace.name for trace in metric_bars(table).data]
['otsu', 'kmeans']
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .checks import check_int, is_number
from .scoring import HIGHER_IS_BETTER, METRIC_NAMES
from .viz import image_figure, label_colours, legend_margin, plain_figure

_MARGIN = dict(l=8, r=8, t=36, b=8)
_TITLE_LINE = 17  # pixels a line of a panel title takes
_MODEBAR = 22  # pixels kept free above the titles for plotly's toolbar (it would cover the rightmost title)
_ASSUMED_WIDTH = 900  # pixels of a wide Streamlit page beside the sidebar: sets the default height of image grids
# The grid's legend as plotly lays it out in a 470 px wide figure (a projector with the sidebar open):
# rows of this many entries, this high (see seglib.viz.legend_margin).
_LEGEND_PER_ROW, _LEGEND_ROW = 3, 24
_BAR_METRICS = tuple(m for m in METRIC_NAMES if HIGHER_IS_BETTER[m])  # all in [0, 1]


def series_colour(i: int) -> str:
    """The colour of the ``i``-th method (0-based), the same in every chart and panel."""
    return "rgb(%d,%d,%d)" % tuple(label_colours(i + 2)[i + 1])


def _title(text: str) -> dict:
    # Pinned to the top of the figure, so a legend above the plot sits below it instead of over it.
    return dict(text=text, font=dict(size=14), x=0.01, xanchor="left", yref="container", y=1.0, yanchor="top",
                pad=dict(t=8))


_TOP_WITH_LEGEND = 76  # title row + up to two rows of legend above the plot


def _layout(fig: go.Figure, title: str, height: int, **extra) -> go.Figure:
    top = _TOP_WITH_LEGEND if title and len(fig.data) > 1 else _MARGIN["t"]
    options = dict(margin=dict(_MARGIN, t=top),
                   legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0.0))
    fig.update_layout(title=_title(title), height=height + top - _MARGIN["t"], **{**options, **extra})
    return fig


def _axis_name(index: int, letter: str) -> str:
    return letter if index == 0 else f"{letter}{index + 1}"


def _grid_domains(count: int, spacing: float) -> list[list[float]]:
    width = (1.0 - spacing * (count - 1)) / count
    return [[i * (width + spacing), i * (width + spacing) + width] for i in range(count)]


def image_trace(picture: np.ndarray, shape: tuple[int, int] | None = None) -> go.Image:
    """A picture as a plotly image trace in the coordinates of an image of size ``shape``.

    Parameters
    ----------
    picture : ndarray, (h, w) or (h, w, 3)
        Drawn as :func:`seglib.viz.image_figure` draws it (PNG, shrunk to at
        most :data:`seglib.viz.FIGURE_MAX_SIDE`).
    shape : (H, W), optional
        Size of the image the picture shows, when the picture was shrunk
        from it (same aspect ratio): hover and axes then use that image's
        pixel coordinates. Default: the picture's own size.
    """
    picture = np.asarray(picture)
    trace = image_figure(picture).data[0]
    if shape is not None and tuple(shape[:2]) != picture.shape[:2]:
        scale = trace.dx * shape[1] / picture.shape[1]
        trace.update(dx=scale, dy=scale, x0=(scale - 1) / 2, y0=(scale - 1) / 2)
    return trace


def image_grid(pictures: Sequence, titles: Sequence[str], columns: int, *, shape: tuple[int, int] | None = None,
               height: int | None = None, legend: Mapping[str, tuple[int, int, int]] | None = None,
               title: str = "") -> go.Figure:
    """Pictures in a grid of subplots that zoom and pan together.

    Every subplot's x axis ``matches`` the first x axis and every y axis the
    first y axis, so zooming into one panel zooms all of them onto the same
    pixels; the y axes keep square pixels (``scaleanchor``).

    Parameters
    ----------
    pictures : sequence of ndarray or plotly Image traces
        Arrays, (h, w) or (h, w, 3), all showing one image (see
        :func:`image_trace`), or traces :func:`image_trace` made already.
    titles : sequence of str
        One per picture.
    columns : int
        Panels per row (at least 1); rows follow.
    shape : (H, W), optional
        Size of the image the pictures show (their own size by default;
        required when traces are given).
    height : int, optional
        Figure height in pixels; by default one that fits a wide page.
    legend : mapping of str to RGB, optional
        Colour key shown as legend entries (e.g. an error map's categories).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    ValueError
        When there are no pictures, the titles do not match, the array sizes
        differ, ``shape`` is missing for traces or ``columns`` is below 1.
    """
    if not len(pictures):
        raise ValueError("`pictures` is empty; expected at least one picture")
    if len(titles) != len(pictures):
        raise ValueError(f"`titles` has {len(titles)} entries but `pictures` has {len(pictures)}")
    check_int(columns, "columns", low=1)
    arrays = [p for p in pictures if not isinstance(p, go.Image)]
    sizes = {np.shape(p)[:2] for p in arrays}
    if len(sizes) > 1:
        raise ValueError(f"the pictures have different sizes {sorted(sizes)}; expected one (H, W) for all")
    if shape is None and len(arrays) < len(pictures):
        raise ValueError("`shape` is None but some pictures are traces; give the (H, W) they show")
    h, w = tuple(shape[:2]) if shape is not None else sizes.pop()
    columns = min(int(columns), len(pictures))
    rows = -(-len(pictures) // columns)
    lines = max(str(t).count("<br>") + 1 for t in titles)  # titles may be wrapped onto several lines
    if height is None:
        panel = _ASSUMED_WIDTH / columns * h / w
        height = int(np.clip(rows * (panel + _TITLE_LINE * (lines + 1)) + 40, 240, 1600))
    x_domains = _grid_domains(columns, 0.01)
    y_domains = _grid_domains(rows, min(0.3, (_TITLE_LINE * lines + 8) / height))[::-1]
    data, layout = [], {}
    for i, (picture, name) in enumerate(zip(pictures, titles)):
        x_name, y_name = _axis_name(i, "x"), _axis_name(i, "y")
        trace = picture if isinstance(picture, go.Image) else image_trace(picture, (h, w))
        data.append(dict(trace.to_plotly_json(), xaxis=x_name, yaxis=y_name, name=name))
        layout[x_name.replace("x", "xaxis")] = dict(
            domain=x_domains[i % columns], visible=False, range=[-0.5, w - 0.5], constrain="domain",
            **({} if i == 0 else {"matches": "x"}))
        layout[y_name.replace("y", "yaxis")] = dict(
            domain=y_domains[i // columns], visible=False, range=[h - 0.5, -0.5], constrain="domain",
            scaleanchor=x_name, **({} if i == 0 else {"matches": "y"}))
        layout.setdefault("annotations", []).append(dict(
            text=name, x=0.5, y=1.0, xref=f"{x_name} domain", yref=f"{y_name} domain", xanchor="center",
            yanchor="bottom", showarrow=False, font=dict(size=13)))
    for name, colour in (legend or {}).items():
        data.append(dict(type="scatter", x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                         marker=dict(size=12, symbol="square", color="rgb(%d,%d,%d)" % tuple(colour))))
    layout.update(showlegend=bool(legend), plot_bgcolor="rgba(0,0,0,0)", dragmode="zoom", title=_title(title),
                  height=height,
                  margin=legend_margin(dict(_MARGIN, t=(48 if title else 28) + _MODEBAR + _TITLE_LINE * (lines - 1)),
                                       len(legend or ()), _LEGEND_PER_ROW, _LEGEND_ROW),
                  legend=dict(orientation="h", yanchor="top", y=-0.01, xanchor="left", x=0.0))
    return plain_figure(data, layout)


def _bar_metrics(table: pd.DataFrame, metrics) -> list[str]:
    wanted = _BAR_METRICS if metrics is None else metrics
    return [m for m in wanted if m in table and table[m].notna().any()]


def metric_bars(table: pd.DataFrame, metrics: Sequence[str] | None = None, *, title: str = "",
                height: int = 340) -> go.Figure:
    """Grouped bars: one group per metric, one bar per method.

    Parameters
    ----------
    table : DataFrame
        A ``method`` column and one column per metric (as
        :func:`seglib.comparison.scores_table` returns).
    metrics : sequence of str, optional
        Which metrics; by default every higher-is-better metric of
        :data:`~seglib.scoring.METRIC_NAMES` with a value (all in [0, 1]).
    title : str, optional
    height : int, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    columns = _bar_metrics(table, metrics)
    fig = go.Figure()
    for i, (_, row) in enumerate(table.iterrows()):
        values = [row[m] for m in columns]
        fig.add_trace(go.Bar(x=columns, y=values, name=str(row["method"]), marker_color=series_colour(i),
                             text=[f"{v:.2f}" if pd.notna(v) else "" for v in values], textposition="outside",
                             hovertemplate="%{x}: %{y:.3f}<extra>%{fullData.name}</extra>"))
    fig.update_yaxes(range=[0, 1.12], title="score (higher is better)")
    return _layout(fig, title, height, barmode="group", bargap=0.25)


def plain(text) -> str:
    """``text`` with ``<``, ``>`` and ``&`` as entities: plotly renders a subset of HTML (links included) in
    labels, and class names come from uploaded files."""
    return html.escape(str(text), quote=False)


def class_iou_bars(table: pd.DataFrame, *, title: str = "", height: int = 380) -> go.Figure:
    """Per-class IoU: one group per class, one bar per method.

    Parameters
    ----------
    table : DataFrame
        Columns ``method``, ``class``, ``IoU`` (see :func:`seglib.comparison.class_iou_table`).
    """
    fig = go.Figure()
    for i, (method, rows) in enumerate(table.groupby("method", sort=False)):
        fig.add_trace(go.Bar(x=[plain(c) for c in rows["class"]], y=rows["IoU"], name=str(method),
                             marker_color=series_colour(i),
                             hovertemplate="%{x}: IoU %{y:.3f}<extra>%{fullData.name}</extra>"))
    fig.update_yaxes(range=[0, 1.05], title="IoU")
    fig.update_xaxes(categoryorder="array", categoryarray=[plain(c) for c in dict.fromkeys(table["class"])])
    # Legend under the bars: many methods in a narrow column would otherwise cover them.
    return _layout(fig, title, height, barmode="group", bargap=0.25,
                   legend=dict(orientation="h", yanchor="top", y=-0.15, xanchor="left", x=0.0))


def row_normalise(cm: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows that sum to 0 stay 0): the share of each true class."""
    cm = np.asarray(cm, dtype=np.float64)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


def confusion_heatmap(cm: np.ndarray, class_names: Sequence[str], *, title: str = "",
                      height: int | None = None) -> go.Figure:
    """A confusion matrix as a heatmap, rows normalised to 1 (recall on the diagonal).

    Parameters
    ----------
    cm : ndarray, (C, C)
        Pixel counts, rows = true class, columns = predicted class.
    class_names : sequence of str
        C names.

    Returns
    -------
    plotly.graph_objects.Figure
        Each cell shows the share of its true class's pixels; hover adds the count.
        Classes absent from the truth keep their column but get no row.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(class_names):
        raise ValueError(f"`cm` has shape {cm.shape} and there are {len(class_names)} class names; "
                         "expected a square (C, C) matrix with C names")
    names = [plain(n) for n in class_names]
    rows = np.flatnonzero(cm.sum(axis=1) > 0) if cm.any() else np.arange(len(names))
    cm = cm[rows]  # a class only predicted (e.g. region pieces left unmatched) has no row to show
    share = row_normalise(cm)
    fig = go.Figure(go.Heatmap(
        z=share, x=names, y=[names[i] for i in rows], zmin=0, zmax=1, colorscale="Blues", customdata=cm,
        text=np.vectorize(lambda v: f"{100 * v:.0f}%")(share) if share.size else None, texttemplate="%{text}",
        hovertemplate="true %{y}, predicted %{x}: %{z:.1%} (%{customdata} px)<extra></extra>",
        colorbar=dict(title="share", thickness=10, tickformat=".0%")))
    fig.update_xaxes(title="predicted class", side="bottom")
    fig.update_yaxes(title="true class", autorange="reversed")
    return _layout(fig, title, height or int(np.clip(140 + 38 * len(names), 260, 640)))


def _categorical(values: pd.Series) -> bool:
    return not all(is_number(v) for v in values)


def _text(value) -> str:
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def sensitivity_figure(table: pd.DataFrame, parameter: str, metric: str, *, current=None, best=None,
                       log: bool = False, title: str = "", height: int = 360) -> go.Figure:
    """A metric as one parameter sweeps its range (see :func:`seglib.sweeps.sensitivity`).

    Parameters
    ----------
    table : DataFrame
        Columns ``value`` and ``metric``; runs that failed have NaN there
        and leave a gap.
    parameter, metric : str
        Axis titles; ``metric`` names the plotted column.
    current : optional
        The parameter's present value: a dashed vertical line.
    best : optional
        The best value (see :func:`seglib.sweeps.best_value`): a star.
    log : bool
        Logarithmic x axis (for parameters on a log scale).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if metric not in table:
        raise ValueError(f"metric={metric!r} is not a column of the sweep table; columns: {', '.join(table)}")
    categorical = _categorical(table["value"])
    x = table["value"].astype(str) if categorical else table["value"]
    y = table[metric].astype(float)
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", name=metric, line=dict(color=series_colour(0)),
                               hovertemplate=f"{parameter} = %{{x}}<br>{metric} = %{{y:.3f}}<extra></extra>"))
    top = float(np.nanmax(y)) if y.notna().any() else 1.0
    if current is not None:
        fig.add_trace(go.Scatter(x=[str(current) if categorical else current] * 2, y=[0, max(top, 1e-9) * 1.05],
                                 mode="lines", name=f"current = {_text(current)}",
                                 line=dict(color="#555", dash="dash")))
    if best is not None:
        at = y[table["value"] == best]
        fig.add_trace(go.Scatter(x=[str(best) if categorical else best], y=[float(at.iloc[0]) if len(at) else top],
                                 mode="markers", name=f"best = {_text(best)}",
                                 marker=dict(symbol="star", size=16, color=series_colour(1),
                                             line=dict(color="black", width=1))))
    fig.update_xaxes(title=parameter, type="category" if categorical else ("log" if log else "linear"))
    fig.update_yaxes(title=metric, rangemode="tozero")
    return _layout(fig, title, height, hovermode="closest")


def robustness_figure(table: pd.DataFrame, metric: str, degradation: str, *, names: Mapping[str, str] | None = None,
                      title: str = "", height: int = 360) -> go.Figure:
    """A metric as one degradation grows, one line per method (see :func:`seglib.sweeps.robustness`).

    Parameters
    ----------
    table : DataFrame
        Columns ``strength``, ``method`` and ``metric``.
    metric : str
    degradation : str
        Axis title (e.g. ``"noise"``, or its description).
    names : mapping of str to str, optional
        Display name of each method slug.
    """
    if metric not in table:
        raise ValueError(f"metric={metric!r} is not a column of the robustness table; columns: {', '.join(table)}")
    names = dict(names or {})
    fig = go.Figure()
    for i, (slug, rows) in enumerate(table.groupby("method", sort=False)):
        fig.add_trace(go.Scatter(x=rows["strength"], y=rows[metric].astype(float), mode="lines+markers",
                                 name=names.get(slug, str(slug)), line=dict(color=series_colour(i)),
                                 hovertemplate=f"strength %{{x:.2f}}: {metric} %{{y:.3f}}"
                                               "<extra>%{fullData.name}</extra>"))
    fig.update_xaxes(title=f"{degradation} strength (0 = none, 1 = severe)", range=[-0.03, 1.03])
    fig.update_yaxes(title=metric, rangemode="tozero")
    return _layout(fig, title, height, hovermode="closest")
