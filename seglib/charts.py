"""Plotly charts of comparisons and evaluations: linked image panels, score bars, curves.

Pure figure builders (no Streamlit), each taking arrays or the tidy tables of
:mod:`seglib.comparison` and :mod:`seglib.sweeps`:

- :func:`image_grid`: pictures side by side whose zoom and pan move together
  (:func:`image_trace` makes each picture's trace, which callers may cache;
  :func:`grid_height` is the height that fits a grid to any width);
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
from .viz import _BAR_MARGIN, _COLOUR_BAR, image_figure, label_colours, legend_margin, plain_figure

_MARGIN = dict(l=8, r=8, t=36, b=8)
_TITLE_LINE = 17  # pixels a line of a panel title takes
_MODEBAR = 22  # pixels kept free above the titles for plotly's toolbar (it would cover the rightmost title)
_ASSUMED_WIDTH = 900  # pixels of a wide Streamlit page beside the sidebar: sets the default height of image grids
_ROW_GAP = 6  # pixels between rows of pictures at the narrowest width (more when wider: the gap scales)
GRID_MAX_HEIGHT = 1600
"""Pixels an :func:`image_grid` is at most high (tall pictures then leave room at their sides)."""
_BAR_METRICS = tuple(m for m in METRIC_NAMES if HIGHER_IS_BETTER[m])  # all in [0, 1]

NARROWEST_WIDTH = 440
"""Width in pixels of the narrowest figure this module's margins are sized for.

A page's full width at 800 px with the sidebar open is 468 px; Evaluate puts
two charts side by side only where each gets this much (see
:func:`ui.layout.wrapping_columns`). Narrower, a long label or legend may make
plotly lay a figure out a second time: drawn right, only slower.
"""
# Margins that already hold what plotly would push them out to (as seglib.viz's figures do): tick labels
# and axis titles, a legend's rows, a colour bar, as plotly lays them out in Chromium with Streamlit's theme.
_CHAR_EM = 0.5  # a character of Streamlit's Source Sans is 0.45-0.5 em wide (capitals more)
_TICK_FONT, _TICK_LINE = 12, 16  # pixels: the font of tick labels and legend names, and a line of it
_TICK_GAP = 18  # pixels between the plot and its tick labels, and past them
_Y_TITLE = 56  # pixels left of the y tick labels: the axis title and its gaps
_NUMBER_TICKS = 20  # pixels of a numeric y tick label such as 0.25
_X_TITLE = 34  # pixels below the x tick labels for the axis title
_NAMES_ROW, _NAMES_PAD = 19, 10  # a row of legend names, and the legend's padding
_SWATCH = 45  # pixels of a legend entry besides its name (symbol and gaps)
_LONGEST_LABEL = 160  # pixels of tick label room at most; a longer label pushes the margin (drawn right, slower)
_SHARE_BAR = dict(_COLOUR_BAR, tickformat=".0%")  # pinned to the plot's right edge
_SHARE_BAR_ROOM = _BAR_MARGIN["r"] + 8  # its tick labels are up to "100%" long


def series_colour(i: int) -> str:
    """The colour of the ``i``-th method (0-based), the same in every chart and panel."""
    return "rgb(%d,%d,%d)" % tuple(label_colours(i + 2)[i + 1])


def _title(text: str) -> dict:
    # Pinned to the top of the figure.
    return dict(text=text, font=dict(size=14), x=0.01, xanchor="left", yref="container", y=1.0, yanchor="top",
                pad=dict(t=8))


def _text_width(text, size: int = _TICK_FONT) -> float:
    """Estimated pixels of a label's longest line."""
    return _CHAR_EM * size * max(len(line) for line in str(text).split("<br>"))


def _label_width(text) -> float:
    """Estimated pixels of a tick label, at most :data:`_LONGEST_LABEL`."""
    return min(_text_width(text), _LONGEST_LABEL)


def _category_ticks(labels: Sequence[str], width: float) -> tuple[int, float, float]:
    """A fixed angle for category tick labels across a plot ``width`` pixels wide, and the room they take
    below the plot and past its right end.

    The angle is the one plotly would pick at that width (0, 30 or 90 degrees), fixed, so that the labels
    take the same room at every width.
    """
    widths = [_label_width(label) for label in labels]
    step = width / max(len(widths), 1)
    if max(widths, default=0.0) + 8 <= step:
        return 0, _TICK_LINE + _TICK_GAP, 0.0
    if step < 2 * _TICK_LINE + 8:  # too close for slanted labels
        return 90, max(widths) + _TICK_LINE / 2 + _TICK_GAP, 0.0
    # Slanted down to the right from their ticks: the last labels may reach past the plot.
    beyond = max(0.87 * w + _TICK_LINE / 4 - (len(widths) - i - 0.5) * step for i, w in enumerate(widths))
    return 30, max(widths) / 2 + 0.87 * _TICK_LINE + _TICK_LINE / 4 + _TICK_GAP, max(0.0, beyond) + 12


def _legend(names: Sequence[str], width: float) -> tuple[dict, int]:
    """A legend at the bottom of the figure and its names to a row, the same at every width from a plot
    ``width`` pixels wide up: one row when they all fit, else a grid whose entries take a fixed share of the
    width (``entrywidthmode="fraction"``)."""
    legend = dict(orientation="h", yref="container", yanchor="bottom", y=0.0, xanchor="left", x=0.0)
    entries = [_SWATCH + _text_width(name) for name in names]
    if sum(entries) <= width:
        return legend, max(len(names), 1)
    per_row = int(np.clip(width // max(entries), 1, len(names)))
    return dict(legend, entrywidth=1 / per_row, entrywidthmode="fraction"), per_row


def _layout(fig: go.Figure, title: str, height: int, *, x_labels: Sequence[str] | None = None,
            x_title: bool = False, y_labels: Sequence[str] | None = None, right: int = _MARGIN["r"],
            **extra) -> go.Figure:
    """Title, margins and legend of a chart whose plot is ``height`` pixels high.

    The margins hold the y axis (its title, and ``y_labels`` or numbers),
    the x axis (``x_labels`` or numbers, its title when ``x_title``), the
    legend's rows under it and ``right`` pixels at the right, as plotly lays
    them out in a chart :data:`NARROWEST_WIDTH` wide: it then lays the chart
    out once.
    """
    left = _Y_TITLE + (_NUMBER_TICKS if y_labels is None else max(_label_width(label) for label in y_labels))
    width = NARROWEST_WIDTH - left - right  # the plot at its narrowest
    below, beyond = _TICK_LINE + _TICK_GAP, 0.0
    if x_labels is not None:
        angle, below, beyond = _category_ticks(x_labels, width)
        angle, below, beyond = _category_ticks(x_labels, width - beyond)  # narrower by what reaches past it
        fig.update_xaxes(tickangle=angle)
    names = [trace.name for trace in fig.data if trace.showlegend is not False] if len(fig.data) > 1 else []
    legend, per_row = _legend(names, width)
    margin = dict(l=round(left), r=round(max(right, beyond)), t=_MARGIN["t"],
                  b=round(below + (_X_TITLE if x_title else 0) + (_NAMES_PAD if names else 0)))
    margin = legend_margin(margin, len(names), per_row, _NAMES_ROW)
    fig.update_layout(title=_title(title), height=height + margin["t"] + margin["b"], margin=margin, legend=legend,
                      **extra)
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
        Figure height in pixels; by default the one that fits a wide page
        (see :func:`grid_height` for any width).
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
    # Titles may be wrapped onto several lines. The first row's go above it, the last row's under it, so that
    # the rows touch and the figure's height is a fixed share of its width plus its margins (grid_height).
    lines = [max(str(t).count("<br>") + 1 for t in titles[r * columns:(r + 1) * columns]) for r in range(rows)]
    between = _TITLE_LINE * max(lines[1:-1], default=0) + _ROW_GAP  # above the rows in between
    x_domains = _grid_domains(columns, 0.01)
    narrowest = NARROWEST_WIDTH - _MARGIN["l"] - _MARGIN["r"]  # the plot area at the narrowest width
    tall = h / w * (x_domains[0][1] - x_domains[0][0]) * narrowest
    y_domains = _grid_domains(rows, between / (rows * tall + (rows - 1) * between))[::-1]  # at the narrowest
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
        under = 0 < i // columns == rows - 1
        layout.setdefault("annotations", []).append(dict(
            text=name, x=0.5, y=0.0 if under else 1.0, xref=f"{x_name} domain", yref=f"{y_name} domain",
            xanchor="center", yanchor="top" if under else "bottom", showarrow=False, font=dict(size=13)))
    for name, colour in (legend or {}).items():
        data.append(dict(type="scatter", x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                         marker=dict(size=12, symbol="square", color="rgb(%d,%d,%d)" % tuple(colour))))
    names = list(legend or ())
    legend_layout, per_row = _legend(names, narrowest)
    margin = dict(_MARGIN, t=(48 if title else 28) + _MODEBAR + _TITLE_LINE * (lines[0] - 1),
                  b=_MARGIN["b"] + (_TITLE_LINE * lines[-1] if rows > 1 else 0) + (_NAMES_PAD if names else 0))
    layout.update(showlegend=bool(legend), plot_bgcolor="rgba(0,0,0,0)", dragmode="zoom", title=_title(title),
                  margin=legend_margin(margin, len(names), per_row, _NAMES_ROW), legend=legend_layout)
    if height is None:
        per_pixel, fixed = grid_height(layout)
        height = min(round(per_pixel * _ASSUMED_WIDTH + fixed), GRID_MAX_HEIGHT)
    layout["height"] = height
    return plain_figure(data, layout)


def grid_height(layout: go.Layout | Mapping) -> tuple[float, float]:
    """The height that fits an :func:`image_grid` to its width: its pictures fill their panels, its rows touch.

    A page that learns the figure's width only in the browser can size it
    with CSS: ``calc(100 * per_pixel cqw + fixed px)``.

    Parameters
    ----------
    layout : plotly Layout or mapping
        The layout of a figure :func:`image_grid` made (``figure.layout``).

    Returns
    -------
    per_pixel, fixed : float
        A figure ``width`` pixels wide fits at ``per_pixel * width + fixed`` pixels high.
    """
    x, y, margin = layout["xaxis"], layout["yaxis"], layout["margin"]
    aspect = abs(y["range"][0] - y["range"][1]) / abs(x["range"][1] - x["range"][0])
    per_pixel = aspect * (x["domain"][1] - x["domain"][0]) / (y["domain"][1] - y["domain"][0])
    return per_pixel, margin["t"] + margin["b"] - per_pixel * (margin["l"] + margin["r"])


def _bar_metrics(table: pd.DataFrame, metrics) -> list[str]:
    wanted = _BAR_METRICS if metrics is None else metrics
    return [m for m in wanted if m in table and table[m].notna().any()]


def metric_bars(table: pd.DataFrame, metrics: Sequence[str] | None = None, *, title: str = "",
                height: int = 240) -> go.Figure:
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
        Of the plot, in pixels; the figure adds room for its title, labels and legend.

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
    return _layout(fig, title, height, x_labels=columns, barmode="group", bargap=0.25)


def plain(text) -> str:
    """``text`` with ``<``, ``>`` and ``&`` as entities: plotly renders a subset of HTML (links included) in
    labels, and class names come from uploaded files."""
    return html.escape(str(text), quote=False)


def class_iou_bars(table: pd.DataFrame, *, title: str = "", height: int = 240) -> go.Figure:
    """Per-class IoU: one group per class, one bar per method.

    Parameters
    ----------
    table : DataFrame
        Columns ``method``, ``class``, ``IoU`` (see :func:`seglib.comparison.class_iou_table`).
    title : str, optional
    height : int, optional
        Of the plot, in pixels (as in :func:`metric_bars`).
    """
    fig = go.Figure()
    for i, (method, rows) in enumerate(table.groupby("method", sort=False)):
        fig.add_trace(go.Bar(x=[plain(c) for c in rows["class"]], y=rows["IoU"], name=str(method),
                             marker_color=series_colour(i),
                             hovertemplate="%{x}: IoU %{y:.3f}<extra>%{fullData.name}</extra>"))
    classes = [plain(c) for c in dict.fromkeys(table["class"])]
    fig.update_yaxes(range=[0, 1.05], title="IoU")
    fig.update_xaxes(categoryorder="array", categoryarray=classes)
    return _layout(fig, title, height, x_labels=classes, barmode="group", bargap=0.25)


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
    title : str, optional
    height : int, optional
        Of the plot, in pixels; by default 48 a row (144 at least).

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
    truths = [names[i] for i in rows]
    share = row_normalise(cm)
    fig = go.Figure(go.Heatmap(
        z=share, x=names, y=truths, zmin=0, zmax=1, colorscale="Blues", customdata=cm,
        text=np.vectorize(lambda v: f"{100 * v:.0f}%")(share) if share.size else None, texttemplate="%{text}",
        hovertemplate="true %{y}, predicted %{x}: %{z:.1%} (%{customdata} px)<extra></extra>",
        colorbar=_SHARE_BAR))
    fig.update_xaxes(title="predicted class", side="bottom", ticks="")
    fig.update_yaxes(title="true class", autorange="reversed", ticks="")
    return _layout(fig, title, height or int(np.clip(48 * len(rows), 144, 480)), x_labels=names, x_title=True,
                   y_labels=truths, right=_SHARE_BAR_ROOM)


def _categorical(values: pd.Series) -> bool:
    return not all(is_number(v) for v in values)


def _text(value) -> str:
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def sensitivity_figure(table: pd.DataFrame, parameter: str, metric: str, *, current=None, best=None,
                       log: bool = False, title: str = "", height: int = 240) -> go.Figure:
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
    title : str, optional
    height : int, optional
        Of the plot, in pixels (as in :func:`metric_bars`).

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
    return _layout(fig, title, height, x_labels=list(x) if categorical else None, x_title=True, hovermode="closest")


def robustness_figure(table: pd.DataFrame, metric: str, degradation: str, *, names: Mapping[str, str] | None = None,
                      title: str = "", height: int = 240) -> go.Figure:
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
    title : str, optional
    height : int, optional
        Of the plot, in pixels (as in :func:`metric_bars`).
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
    return _layout(fig, title, height, x_title=True, hovermode="closest")
