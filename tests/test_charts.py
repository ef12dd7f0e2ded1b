"""Figure builders of seglib.charts: the traces and axes they promise."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from seglib import charts


def rgb(h=12, w=20, value=100):
    return np.full((h, w, 3), value, np.uint8)


def test_image_grid_links_every_axis_to_the_first():
    fig = charts.image_grid([rgb(), rgb(value=50), rgb(value=200)], ["a", "b", "c"], columns=2)
    images = [t for t in fig.data if isinstance(t, go.Image)]
    assert [t.xaxis for t in images] == ["x", "x2", "x3"] and [t.yaxis for t in images] == ["y", "y2", "y3"]
    layout = fig.layout
    assert layout.xaxis.matches is None and layout.xaxis2.matches == "x" and layout.xaxis3.matches == "x"
    assert layout.yaxis2.matches == "y" and layout.yaxis3.matches == "y"
    assert layout.yaxis.scaleanchor == "x" and layout.yaxis3.scaleanchor == "x3"
    assert tuple(layout.yaxis.range) == (11.5, -0.5)  # image rows go down
    assert [a.text for a in layout.annotations] == ["a", "b", "c"]
    assert layout.xaxis3.domain == layout.xaxis.domain  # third panel starts the second row
    assert layout.yaxis3.domain[1] < layout.yaxis.domain[0]
    assert not layout.showlegend


def test_image_grid_legend_entries():
    fig = charts.image_grid([rgb()], ["only"], columns=3, legend={"hit": (0, 158, 115), "miss": (0, 114, 178)})
    legend = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert [t.name for t in legend] == ["hit", "miss"] and fig.layout.showlegend
    assert legend[0].marker.color == "rgb(0,158,115)"
    bottoms = [charts.image_grid([rgb()], ["only"], columns=1, legend={f"error kind no{i}": (0, 0, 0) for i in range(n)})
               .layout.margin.b for n in (0, 3, 4, 8)]
    assert bottoms[0] < bottoms[1] < bottoms[2] < bottoms[3], "room for each row of the legend (no second layout)"


def test_image_grid_skips_validation_but_is_what_plotly_would_validate():
    import json

    import plotly.io as pio

    scalar = np.random.default_rng(0).random((24, 40)) - 0.3
    fig = charts.image_grid([rgb(24, 40), scalar, charts.image_trace(rgb(12, 20), (24, 40))], ["a", "b", "c"],
                            columns=2, shape=(24, 40), legend={"hit": (0, 158, 115)}, title="t")
    assert json.loads(pio.to_json(fig, validate=False)) == json.loads(pio.to_json(go.Figure(fig.to_dict())))
    assert fig.to_dict()["layout"] == go.Figure(fig.to_dict()).to_dict()["layout"]  # lists, not tuples


@pytest.mark.parametrize("images, titles, columns, match", [
    ([], [], 2, "empty"),
    ([rgb()], ["a", "b"], 1, "titles"),
    ([rgb(), rgb(h=5)], ["a", "b"], 2, "different sizes"),
    ([rgb()], ["a"], 0, "columns=0"),
])
def test_image_grid_rejects_bad_input(images, titles, columns, match):
    with pytest.raises(ValueError, match=match):
        charts.image_grid(images, titles, columns)


def scores():
    return pd.DataFrame({"method": ["otsu", "kmeans"], "IoU": [0.9, np.nan], "mean IoU": [np.nan, np.nan],
                         "boundary F1": [0.5, 0.7], "VI": [0.1, 2.0]})


def test_metric_bars_group_metrics_with_values_and_skip_lower_is_better():
    fig = charts.metric_bars(scores())
    assert [t.name for t in fig.data] == ["otsu", "kmeans"]
    assert list(fig.data[0].x) == ["IoU", "boundary F1"]  # mean IoU has no value, VI is lower-is-better
    assert list(fig.data[0].y) == [0.9, 0.5] and fig.layout.barmode == "group"
    assert fig.data[0].marker.color != fig.data[1].marker.color
    assert list(charts.metric_bars(scores(), ["VI"]).data[1].y) == [2.0]


def test_class_iou_bars_one_trace_per_method():
    table = pd.DataFrame({"method": ["a", "a", "b"], "class": ["background", "disk", "disk"], "IoU": [0.9, 0.5, 0.7]})
    fig = charts.class_iou_bars(table)
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[1].x) == ["disk"] and list(fig.layout.xaxis.categoryarray) == ["background", "disk"]


def test_confusion_heatmap_rows_are_normalised():
    cm = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 0]])
    fig = charts.confusion_heatmap(cm, ["bg", "disk", "star"])
    z = np.array(fig.data[0].z)
    assert z[0].tolist() == [0.8, 0.2, 0.0] and z[1].tolist() == [0.25, 0.75, 0.0] and len(z) == 2  # no star row
    assert list(fig.data[0].x) == ["bg", "disk", "star"] and fig.layout.yaxis.autorange == "reversed"
    assert fig.data[0].text[0][0] == "80%"
    with pytest.raises(ValueError, match="square"):
        charts.confusion_heatmap(cm, ["bg", "disk"])


def sweep():
    return pd.DataFrame({"value": [0.1, 0.2, 0.3, 0.4], "IoU": [0.2, 0.8, np.nan, 0.5],
                         "error": ["", "", "boom", ""]})


def test_sensitivity_figure_marks_current_and_best():
    fig = charts.sensitivity_figure(sweep(), "threshold", "IoU", current=0.3, best=0.2)
    curve, current, best = fig.data
    assert list(curve.x) == [0.1, 0.2, 0.3, 0.4] and np.isnan(curve.y[2])
    assert list(current.x) == [0.3, 0.3] and current.name == "current = 0.3"
    assert list(best.x) == [0.2] and list(best.y) == [0.8] and best.marker.symbol == "star"
    assert fig.layout.xaxis.type == "linear"
    assert charts.sensitivity_figure(sweep(), "threshold", "IoU", log=True).layout.xaxis.type == "log"
    with pytest.raises(ValueError, match="metric='Dice'"):
        charts.sensitivity_figure(sweep(), "threshold", "Dice")


def test_sensitivity_figure_of_a_choice_is_categorical():
    table = pd.DataFrame({"value": ["bright", "dark"], "IoU": [0.9, 0.1]})
    fig = charts.sensitivity_figure(table, "polarity", "IoU", current="dark", best="bright")
    assert fig.layout.xaxis.type == "category" and list(fig.data[2].x) == ["bright"]
    assert len(fig.data) == 3


def test_robustness_figure_one_line_per_method():
    table = pd.DataFrame({"strength": [0, 0, 1, 1], "method": ["otsu", "canny", "otsu", "canny"],
                          "boundary F1": [0.9, 0.8, 0.4, 0.6]})
    fig = charts.robustness_figure(table, "boundary F1", "noise", names={"otsu": "Otsu threshold"})
    assert [t.name for t in fig.data] == ["Otsu threshold", "canny"]
    assert list(fig.data[1].y) == [0.8, 0.6]
    with pytest.raises(ValueError, match="metric='IoU'"):
        charts.robustness_figure(table, "IoU", "noise")


def test_series_colours_are_distinct_and_stable():
    colours = [charts.series_colour(i) for i in range(6)]
    assert len(set(colours)) == 6 and charts.series_colour(2) == colours[2]


def test_confusion_heatmap_leaves_out_rows_of_classes_only_predicted():
    cm = np.array([[5, 1, 4], [0, 6, 0], [0, 0, 0]])
    figure = charts.confusion_heatmap(cm, ["background", "disk", "unmatched segment"])
    heat = figure.data[0]
    assert list(heat.y) == ["background", "disk"] and list(heat.x) == ["background", "disk", "unmatched segment"]
    np.testing.assert_allclose(heat.z[0], [0.5, 0.1, 0.4])


APP_METHODS = ["Otsu threshold", "k-means clustering", "Felzenszwalb graph segmentation", "Canny edge detector"]


def bars(methods, metrics=("IoU", "boundary F1")):
    return charts.metric_bars(pd.DataFrame({"method": methods, **{m: 0.5 for m in metrics}}))


def test_charts_leave_room_for_what_plotly_would_push_into_their_margins():
    # Tick labels, axis titles, a legend or a colour bar that outgrow the margins make plotly lay a chart out and
    # draw it twice; the room below is what Chromium needed (tests/e2e/test_chart_layout.py checks the real layout).
    short, long = bars(["a", "b"]).layout, bars(APP_METHODS, charts._BAR_METRICS).layout
    assert short.margin.l >= 70 and long.margin.l == short.margin.l, "a y title and numeric tick labels"
    assert short.xaxis.tickangle == 0 and long.xaxis.tickangle == 30, "slanted only where names would overlap"
    assert long.margin.b - short.margin.b >= 50, "room for the slanted metric names (and the legend)"
    assert long.margin.r > short.margin.r, "the last slanted names reach past the plot"
    assert short.height == 240 + short.margin.t + short.margin.b, "the plot keeps its height: margins add to it"
    curves = charts.robustness_figure(pd.DataFrame({"strength": [0, 1], "method": "otsu", "IoU": [0.9, 0.5]}),
                                      "IoU", "noise")
    assert curves.layout.margin.b >= 63, "numeric x tick labels and the x axis title"
    heat = charts.confusion_heatmap(np.eye(2, dtype=int), ["background", "foreground"])
    assert heat.data[0].colorbar.x == 1.0 and heat.data[0].colorbar.xanchor == "left", "the bar pinned to the plot"
    assert heat.layout.margin.r >= 62 and heat.layout.margin.l >= 115, "the bar's 100 %, the class names"
    longer = charts.confusion_heatmap(np.eye(2, dtype=int), ["background", "a rather long class name"])
    huge = charts.confusion_heatmap(np.eye(2, dtype=int), ["background", "x" * 500])
    assert heat.layout.margin.l < longer.layout.margin.l < huge.layout.margin.l < charts.NARROWEST_WIDTH / 2
    assert huge.layout.margin.b < 250, "a huge name's room is capped (plotly pushes the rest)"


def test_a_legend_has_the_same_rows_at_every_width():
    # One row when the names fit the narrowest chart, else a grid of fixed shares: plotly then lays out as many
    # rows at 1400 px as at 800 px, and the margin holds exactly those.
    one_row = [bars(["a", "b", "c"][:n]).layout for n in (2, 3)]
    assert one_row[0].margin.b == one_row[1].margin.b and one_row[0].legend.entrywidthmode is None
    stacked = [bars((APP_METHODS[2:] + APP_METHODS[:2])[:n]).layout for n in (2, 3, 4)]
    assert [m.legend.entrywidth for m in stacked] == [1, 1, 1] and stacked[0].legend.entrywidthmode == "fraction"
    assert stacked[1].margin.b - stacked[0].margin.b == stacked[2].margin.b - stacked[1].margin.b == 19
    assert bars(["only"]).layout.margin.b < one_row[0].margin.b, "one trace, no legend"


def test_category_labels_stand_on_end_when_even_slanted_ones_would_overlap():
    many = pd.DataFrame({"method": "m", "class": [f"class {i}" for i in range(40)], "IoU": 0.5})
    few = pd.DataFrame({"method": "m", "class": ["background", "disk"], "IoU": 0.5})
    assert charts.class_iou_bars(many).layout.xaxis.tickangle == 90
    assert charts.class_iou_bars(few).layout.xaxis.tickangle == 0


def grid(rows, columns=4, shape=(30, 40), lines=2, legend=None):
    titles = ["<br>".join(["word"] * lines)] * (rows * columns)
    return charts.image_grid([rgb(*shape)] * (rows * columns), titles, columns, legend=legend)


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_image_grid_height_follows_its_width_and_its_rows_touch(rows):
    figure = grid(rows, legend={"true positive": (0, 0, 0), "false negative": (0, 0, 0)})
    layout = figure.layout
    per_pixel, fixed = charts.grid_height(layout)
    assert layout.height == round(per_pixel * charts._ASSUMED_WIDTH + fixed)
    first, last = layout.yaxis.domain, layout["yaxis%d" % (4 * rows - 3)].domain
    share = layout.xaxis.domain[1] - layout.xaxis.domain[0]
    for width in (468, 564, 940):
        plot = per_pixel * width + fixed - layout.margin.t - layout.margin.b
        picture = 30 / 40 * share * (width - layout.margin.l - layout.margin.r)
        assert (first[1] - first[0]) * plot == pytest.approx(picture), "the pictures fill their panels"
        gap = (first[0] - last[1]) * plot - (rows - 1) * picture
        assert gap <= (rows - 1) * (12 + (rows > 2) * 3 * 17) * width / 468, "rows of pictures touch"
    under = [a for a in layout.annotations if a.yanchor == "top"]
    assert len(under) == (4 if rows > 1 else 0), "the last row's titles go under it"
    if rows == 3:  # titles above the middle row fit between the rows at the narrowest width
        plot = per_pixel * charts.NARROWEST_WIDTH + fixed - layout.margin.t - layout.margin.b
        assert (layout.yaxis.domain[0] - layout.yaxis5.domain[1]) * plot >= 2 * 17
