"""seglib.viz: label colours, overlays, summaries and stage figures."""

import numpy as np
import plotly.graph_objects as go
import pytest

import seglib
from seglib import cache, viz
from seglib.result import Curve, Points, Segmentation

from helpers import quadrants


def test_label_colours_background_black_and_distinct():
    colours = viz.label_colours(300)
    assert colours.shape == (300, 3) and colours.dtype == np.uint8
    np.testing.assert_array_equal(colours[0], [0, 0, 0])
    assert len({tuple(c) for c in colours[1:21]}) == 20  # the fixed palette
    assert len({tuple(c) for c in colours}) > 250  # generated colours barely repeat
    # A longer list extends a shorter one, so a label keeps its colour.
    np.testing.assert_array_equal(viz.label_colours(5), colours[:5])


def test_label_colours_is_read_only():
    with pytest.raises(ValueError):
        viz.label_colours(4)[1] = 0


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_label_colours_rejects_bad_n(n):
    with pytest.raises(ValueError, match="n="):
        viz.label_colours(n)


def test_colourise_maps_each_label_to_its_colour():
    _, truth = quadrants(8)
    rgb = viz.colourise(truth)
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, 0], [0, 0, 0])  # label 0 is black
    for label in range(1, 4):
        np.testing.assert_array_equal(rgb[truth == label], np.broadcast_to(viz.label_colours(4)[label], (16, 3)))


def test_colourise_handles_huge_and_negative_ids():
    labels = np.array([[0, 5000], [3001, -2]] * 2)
    rgb = viz.colourise(labels)
    assert len({tuple(c) for c in rgb.reshape(-1, 3)}) == 4


def test_colourise_edges_are_one_bright_colour():
    labels = np.eye(6, dtype=np.int32)
    rgb = viz.colourise(labels, "edges")
    np.testing.assert_array_equal(rgb[labels == 1], np.broadcast_to(viz.EDGE_COLOUR, (6, 3)))


def test_colourise_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels"):
        viz.colourise(np.zeros((4, 4, 3), int))
    with pytest.raises(ValueError, match="dtype"):
        viz.colourise(np.zeros((4, 4), float))


def test_overlay_filled_blends_and_keeps_background():
    image, truth = quadrants(8)
    before = image.copy()
    out = viz.overlay(image, truth, "regions", opacity=0.5)
    np.testing.assert_array_equal(image, before)  # not mutated
    np.testing.assert_array_equal(out[truth == 0], image[truth == 0])
    colour = viz.label_colours(4)[2].astype(float)
    expected = np.round(0.5 * image[truth == 2] + 0.5 * colour)
    np.testing.assert_allclose(out[truth == 2], expected, atol=1)


def test_overlay_opacity_extremes():
    image, truth = quadrants(8)
    np.testing.assert_array_equal(viz.overlay(image, truth, opacity=0.0), image)
    full = viz.overlay(image, truth, opacity=1.0)
    np.testing.assert_array_equal(full[truth > 0], viz.colourise(truth)[truth > 0])


def test_overlay_contour_draws_only_boundaries():
    image = np.full((20, 20, 3), 100, np.uint8)
    labels = np.zeros((20, 20), int)
    labels[5:15, 5:15] = 1
    out = viz.overlay(image, labels, "binary", mode="contour")
    changed = np.any(out != image, axis=-1)
    assert changed[5, 10] and changed[4, 10]  # both sides of the boundary (thick)
    assert not changed[10, 10] and not changed[0, 0]  # interior and far background untouched
    np.testing.assert_array_equal(out[5, 10], viz.label_colours(2)[1])  # solid colour


@pytest.mark.parametrize("mode", ["filled", "contour"])
def test_a_binary_mask_changes_colour_only_where_its_red_would_blend_in(mode):
    red = viz.label_colours(2)[1]
    labels = np.zeros((20, 20), int)
    labels[5:15, 5:15] = 1
    gray = np.full((20, 20, 3), 100, np.uint8)
    shown = viz.overlay(gray, labels, "binary", opacity=1.0, mode=mode)
    np.testing.assert_array_equal(shown[labels == 1][0] if mode == "filled" else shown[5, 10], red)
    pink = gray.copy()
    pink[labels == 1] = (225, 60, 120)  # a pink object: a red mask over it could not be seen
    shown = viz.overlay(pink, labels, "binary", opacity=1.0, mode=mode)
    colour = shown[10, 10] if mode == "filled" else shown[5, 10]
    assert tuple(colour) in viz.MASK_ALTERNATIVES
    assert np.linalg.norm(colour - np.array([225, 60, 120])) >= viz.MIN_MASK_CONTRAST
    regions = viz.overlay(pink, labels, "regions", opacity=1.0)  # segment colours keep their meaning
    np.testing.assert_array_equal(regions[10, 10], red)


def test_overlay_contour_of_many_regions_is_yellow():
    labels = np.arange(128).reshape(8, 16) // 2 + 1  # 64 segments of 2 pixels: all boundary
    out = viz.overlay(np.zeros((8, 16), np.uint8), labels, "regions", mode="contour")
    assert {tuple(c) for c in out.reshape(-1, 3)} == {viz.BOUNDARY_COLOUR}


def test_overlay_accepts_gray_float_image():
    image = np.linspace(0, 1, 64).reshape(8, 8)
    out = viz.overlay(image, np.zeros((8, 8), int))
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], np.round(image * 255))


@pytest.mark.parametrize("kwargs, match", [
    (dict(labels=np.zeros((4, 5), int)), "same"),
    (dict(opacity=1.5), "opacity"),
    (dict(mode="outline"), "mode"),
])
def test_overlay_errors_name_the_argument(kwargs, match):
    args = dict(image=np.zeros((4, 4, 3), np.uint8), labels=np.zeros((4, 4), int)) | kwargs
    with pytest.raises(ValueError, match=match):
        viz.overlay(**args)


def test_fit_shrinks_image_and_labels_together():
    image = np.zeros((300, 600, 3), np.uint8)
    labels = np.zeros((300, 600), np.int32)
    labels[:, 300:] = 7
    small, small_labels = viz.fit(image, labels, max_side=200)
    assert small.shape == (100, 200, 3) and small_labels.shape == (100, 200)
    assert set(np.unique(small_labels)) == {0, 7}  # labels never blended
    same, same_labels = viz.fit(image[:50, :50], labels[:50, :50], max_side=200)
    assert same.shape == (50, 50, 3) and same_labels is not None


def test_fit_shrinks_a_read_only_picture_once_and_a_writeable_one_every_time():
    cache.clear()
    picture = np.random.default_rng(1).integers(0, 256, (300, 600), np.uint8)  # gray: made RGB too
    writeable = picture.copy()
    picture.setflags(write=False)
    first, _ = viz.fit(picture, None, max_side=200)
    again, labels = viz.fit(picture, np.ones((300, 600), np.int32), max_side=200)
    assert again is first and first.shape == (100, 200, 3) and labels.shape == (100, 200)
    assert cache.stats["misses"] == 1 and cache.stats["hits"] == 1
    # A writeable picture may change between calls: never served from the cache.
    np.testing.assert_array_equal(viz.fit(writeable, None, max_side=200)[0], first)
    writeable[:] = 0
    assert not viz.fit(writeable, None, max_side=200)[0].any()
    assert cache.stats["misses"] == 1 and cache.stats["hits"] == 1
    with pytest.raises(ValueError, match=r"`labels` \(shape \(3, 6\)\) must have the same"):
        viz.fit(picture, np.ones((3, 6), np.int32), max_side=200)


def test_summary_depends_on_kind():
    labels = np.zeros((10, 10), np.int32)
    labels[1:3, 1:3] = 1
    labels[6:9, 6:9] = 1
    assert viz.summary(Segmentation(labels, kind="binary")) == {"Objects": "2", "Foreground": "13.0%"}
    assert viz.summary(Segmentation(labels, kind="edges")) == {"Edge pixels": "13.0%"}
    labels[6:9, 6:9] = 5
    assert viz.summary(Segmentation(labels, kind="regions"))["Segments"] == "2"


def test_objects_are_counted_8_connected_as_their_help_says():
    from ui.views import _NUMBER_HELP

    labels = np.zeros((10, 10), np.int32)
    labels[1:3, 1:3] = 1
    labels[3:5, 3:5] = 1  # touches the first square at a corner only
    assert "8-connected" in _NUMBER_HELP["Objects"]
    assert viz.summary(Segmentation(labels, kind="binary"))["Objects"] == "1"


# ---------------------------------------------------------------- figures


def _image_trace(fig):
    return next(t for t in fig.data if isinstance(t, go.Image))


@pytest.mark.parametrize("value", [
    np.random.default_rng(0).random((30, 40)),
    np.random.default_rng(0).random((30, 40, 3)),
    np.random.default_rng(0).random((30, 40)) > 0.5,
    np.arange(1200).reshape(30, 40) % 7,
    np.zeros((30, 40)),  # constant: no division by zero
])
def test_image_stages_become_image_figures(value):
    fig = viz.stage_figure("stage", value)
    image = _image_trace(fig)
    assert image.source.startswith(("data:image/png;base64,", "data:image/jpeg;base64,"))
    assert fig.layout.title.text == "stage"
    assert list(fig.layout.xaxis.range) == [-0.5, 39.5]  # coordinates of the array itself


def test_label_maps_are_sent_lossless_and_photos_as_jpeg():
    labels = np.add.outer(np.arange(30) // 10 * 7, np.arange(40) // 6)  # 15 blocks
    photo = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    assert _image_trace(viz.stage_figure("labels", labels)).source.startswith("data:image/png;base64,")
    assert _image_trace(viz.stage_figure("photo", photo)).source.startswith("data:image/jpeg;base64,")
    assert viz.is_flat(viz.colourise(labels)) and not viz.is_flat(photo)
    # A gray photo has at most 256 values, like a drawing, but few pixels repeat their neighbour.
    gray_photo = np.repeat(photo[..., :1], 3, axis=2)
    assert not viz.is_flat(gray_photo) and not viz.is_flat(photo[..., 0])
    assert viz.encode_picture(gray_photo)[1] == "image/jpeg"
    assert viz.is_flat(viz.colourise(np.random.default_rng(2).integers(0, 2000, (6, 5)).repeat(8, 0).repeat(8, 1)))
    # A scalar map through a 256-colour scale has few colours but is a continuous picture: JPEG;
    # a mask stays lossless.
    scalar = np.random.default_rng(1).random((90, 120))
    assert _image_trace(viz.stage_figure("gradient", scalar)).source.startswith("data:image/jpeg;base64,")
    assert _image_trace(viz.stage_figure("mask", scalar > 0.5)).source.startswith("data:image/png;base64,")
    data, mime = viz.encode_picture(photo, lossless=True)
    assert mime == "image/png" and data.startswith(b"\x89PNG")


def _decoded(source):
    """The picture in a data URI (str) or in encoded bytes."""
    import base64
    import io

    from PIL import Image

    data = base64.b64decode(source.split(",", 1)[1]) if isinstance(source, str) else source
    return Image.open(io.BytesIO(data))


def test_masks_go_as_one_bit_and_gray_maps_as_one_channel():
    rng = np.random.default_rng(2)
    mask = rng.random((90, 120)) > 0.5
    picture = _decoded(_image_trace(viz.stage_figure("mask", mask)).source)
    assert picture.mode == "1" and np.array_equal(np.asarray(picture), mask)
    zero_one = mask.astype(np.int64)  # a 0/1 integer map is drawn as the same mask
    assert np.array_equal(np.asarray(_decoded(_image_trace(viz.stage_figure("01", zero_one)).source)), mask)
    assert _decoded(_image_trace(viz.stage_figure("gradient", rng.random((90, 120)))).source).mode == "L"
    signed = _decoded(_image_trace(viz.stage_figure("log", rng.random((90, 120)) - 0.5)).source)
    assert signed.mode == "RGB"  # red-blue around zero
    data, mime = viz.encode_picture(mask)
    assert mime == "image/png" and np.array_equal(np.asarray(_decoded(data)), mask)


def test_overlay_blends_only_painted_pixels_with_the_given_opacity():
    image = np.full((4, 6, 3), 100, np.uint8)
    labels = np.zeros((4, 6), np.int32)
    labels[:, :2] = 1  # a third painted: the sparse path; two thirds and all painted: the dense paths
    for painted in (labels, 1 - labels, np.ones_like(labels)):
        out = viz.overlay(image, painted, "regions", opacity=0.5)
        colour = viz.label_colours(2)[1].astype(int)
        np.testing.assert_array_equal(out[painted == 1], np.round((100 + colour) / 2 + 1e-9).astype(np.uint8)[None]
                                      .repeat(int((painted == 1).sum()), 0))
        np.testing.assert_array_equal(out[painted == 0], 100)


def test_float_stage_has_colour_bar_and_signed_maps_are_symmetric():
    fig = viz.stage_figure("log", np.linspace(-2, 1, 100).reshape(10, 10))
    bars = [t for t in fig.data if isinstance(t, go.Scatter) and t.marker.showscale]
    assert len(bars) == 1
    assert bars[0].marker.cmin == -2 and bars[0].marker.cmax == 2


def test_figures_leave_room_for_what_plotly_would_push_into_their_margins():
    # A colour bar, axis labels or a legend that does not fit its margin makes plotly draw the figure twice
    # (the browser test test_stage_figures_are_laid_out_once checks the real layout in Chromium).
    scalar = viz.stage_figure("map", np.linspace(0, 1, 100).reshape(10, 10))
    assert scalar.layout.margin.r >= 50 and scalar.data[1].marker.colorbar.x == 1.0, "room for the colour bar"
    assert viz.stage_figure("mask", np.eye(10, dtype=bool)).layout.margin.r == 4, "no bar, no room"
    x = np.linspace(0, 1, 11)
    margins = [viz.stage_figure("c", Curve(x, series, markers, "x", "y")).layout.margin
               for series, markers in [({"a": x}, {}), ({"a": x}, {"t": 0.5}), ({"a": x}, {"t": 0.2, "u": 0.7})]]
    assert all(m.l >= 40 for m in margins), "room for the y axis title and tick labels"
    assert margins[0].b < margins[1].b < margins[2].b, "a row of legend per two more names"
    cloud = [viz.still_cloud_figure(Points(_rng.random((60, 3)), np.arange(60) % k + 1, None)).layout.margin.b
             for k in (2, 4, 9)]
    assert cloud[0] < cloud[2] and cloud[0] == cloud[1], "legend rows of five entries"
    gray = [viz.stage_figure("cloud", Points(_rng.random((60, 1)), np.arange(60) % k + 1, None)).layout.margin.b
            for k in (2, 3, 8)]
    assert gray[0] == gray[1] < gray[2], "a gray picture's histogram by cluster: legend rows of four entries"


def test_legend_margin_adds_a_row_per_started_row_of_names():
    base = dict(l=1, r=2, t=3, b=4)
    assert [viz.legend_margin(base, n, 3, 10)["b"] for n in (0, 1, 3, 4, 7)] == [4, 14, 14, 24, 34]
    assert viz.legend_margin(base, 7, 3, 10) == dict(base, b=34) and base["b"] == 4, "a new dict, the rest kept"


def test_large_stage_is_downscaled_but_keeps_its_coordinates():
    fig = viz.stage_figure("big", np.zeros((1500, 3000)))
    image = _image_trace(fig)
    assert image.dx == pytest.approx(3000 / viz.FIGURE_MAX_SIDE)
    assert list(fig.layout.xaxis.range) == [-0.5, 2999.5]


def test_curve_stage_has_lines_and_markers():
    x = np.linspace(0, 1, 11)
    curve = Curve(x, {"pixels": x * 10, "variance": x}, {"threshold": 0.4}, "intensity", "pixels")
    fig = viz.stage_figure("histogram", curve)
    names = [t.name for t in fig.data]
    assert names == ["pixels", "variance", "threshold = 0.4"]
    marker = fig.data[-1]
    assert list(marker.x) == [0.4, 0.4] and marker.y[1] == pytest.approx(10)
    assert fig.layout.xaxis.title.text == "intensity"


@pytest.mark.parametrize("dims", [2, 3])
def test_points_stage_colours_clusters_like_the_label_map(dims):
    rng = np.random.default_rng(1)
    points = Points(rng.random((90, dims)), np.repeat([1, 2, 3], 30), rng.random((3, dims)), ("R", "G", "B")[:dims])
    fig = viz.stage_figure("cloud", points)
    clusters = [t for t in fig.data if t.name.startswith("cluster")]
    assert len(clusters) == 3
    expected = viz.label_colours(4)[2]
    assert clusters[1].marker.color == "rgb(%d,%d,%d)" % tuple(expected)
    assert fig.data[-1].name == "centres" and len(fig.data[-1].x) == 3
    assert isinstance(fig.data[0], go.Scatter3d if dims == 3 else go.Scattergl)


def test_one_channel_points_are_a_histogram_stacked_by_cluster():
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.uniform(0.0, 0.3, 400), rng.uniform(0.6, 0.9, 600)])
    points = Points(values[:, None], np.repeat([1, 2], [400, 600]), np.array([[0.15], [0.75]]), ("intensity",))
    fig = viz.stage_figure("cloud", points)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == ["cluster 1", "cluster 2"]
    assert sum(sum(t.y) for t in bars) == 1000 and sum(bars[0].y) == 400
    assert fig.layout.barmode == "stack" and fig.layout.xaxis.title.text == "intensity"
    assert list(fig.layout.xaxis.range) == [0.0, 1.0]
    centre_lines = [t for t in fig.data if t.name == "centres"]
    assert [t.x[0] for t in centre_lines] == [0.15, 0.75]
    assert bars[1].marker.color == "rgb(%d,%d,%d)" % tuple(viz.label_colours(3)[2])


def test_stage_figure_rejects_other_values():
    with pytest.raises(ValueError, match="stage 'odd'"):
        viz.stage_figure("odd", {"a": 1})
    with pytest.raises(ValueError, match="shape"):
        viz.stage_figure("odd", np.zeros(5))


def test_describe_stage():
    assert viz.describe_stage(np.ones((3, 4), bool)) == "4 x 3 mask, 100.0% set"
    assert "2 distinct" in viz.describe_stage(np.array([[1, 2], [2, 2]]))
    assert "threshold = 0.5" in viz.describe_stage(Curve(np.arange(3), {"a": np.arange(3)}, {"threshold": 0.5}))


def test_every_stage_of_a_real_method_draws():
    image, _ = quadrants(32)
    result = seglib.segment(image, "otsu")
    for name, value in result.stages.items():
        assert isinstance(viz.stage_figure(name, value), go.Figure)


def test_thicken_grows_lines_but_keeps_labels():
    labels = np.zeros((9, 9), np.int32)
    labels[4, :] = 1
    labels[0, 0] = 2
    thick = viz.thicken(labels, 3)
    assert thick[3:6, 2].tolist() == [1, 1, 1]
    assert thick[0, 0] == 2 and thick[4, 4] == 1
    np.testing.assert_array_equal(viz.thicken(labels, 1), labels)


def test_edges_are_drawn_wider_with_line_width():
    image = np.zeros((12, 12, 3), np.uint8)
    edges = np.zeros((12, 12), np.int32)
    edges[6, :] = 1
    thin = np.any(viz.overlay(image, edges, "edges", mode="contour") != 0, axis=-1)
    wide = np.any(viz.overlay(image, edges, "edges", mode="contour", line_width=3) != 0, axis=-1)
    assert thin.sum() == 12 and wide.sum() == 36
    np.testing.assert_array_equal(viz.overlay(image, edges, "edges", mode="contour")[6, 0], viz.EDGE_COLOUR)
    with pytest.raises(ValueError, match="line_width"):
        viz.overlay(image, edges, "edges", line_width=0)


def test_float_colour_stages_become_the_same_uint8_as_clipping_and_rounding():
    from seglib.imaging import as_uint8

    value = np.random.default_rng(3).random((20, 30, 3)) * 1.4 - 0.2
    value[0, 0, 0], value[1, 1, 1], value[2, 2, 2] = np.nan, np.inf, -np.inf
    expected = as_uint8(np.clip(np.nan_to_num(value), 0, 1))
    for dtype in (np.float64, np.float32):
        assert np.array_equal(viz._unit_float_to_uint8(value.astype(dtype)), expected)
    picture = _decoded(_image_trace(viz.stage_figure("colours", value)).source)
    assert picture.mode == "RGB" and picture.size == (30, 20)


def _as_validated(figure: go.Figure) -> go.Figure:
    """plotly's own validated copy of a figure (coerced values, unknown names rejected)."""
    return go.Figure(figure.to_dict())


_rng = np.random.default_rng(3)


@pytest.mark.parametrize("value", [
    _rng.random((40, 60)),  # scalar map with a colour bar
    _rng.random((40, 60)) - 0.5,  # signed map
    _rng.random((40, 60, 3)),  # colour picture
    _rng.random((900, 700)) > 0.5,  # mask, shrunk for display
    _rng.integers(0, 9, (40, 60)).astype(np.int32),  # labels
    Curve(np.arange(5.0), {"pixels": np.arange(5.0) ** 2, "other": np.ones(5)}, {"threshold": 2.5}, "level", "n"),
    Points(_rng.random((50, 3)), _rng.integers(0, 3, 50), _rng.random((3, 3)), ("r", "g", "b")),
    Points(_rng.random((50, 2)), _rng.integers(0, 3, 50), None, ("x", "y")),
    Points(_rng.random((50, 1)), _rng.integers(0, 3, 50), _rng.random((3, 1)), ("gray",)),
], ids=["scalar", "signed", "rgb", "mask", "labels", "curve", "cloud-3d", "cloud-2d", "cloud-1d"])
def test_stage_figures_skip_validation_but_are_what_plotly_would_validate(value):
    import json

    import plotly.io as pio

    figure = viz.stage_figure("a stage", value)
    assert json.loads(pio.to_json(figure, validate=False)) == json.loads(pio.to_json(_as_validated(figure)))
    assert figure.to_dict()["layout"] == _as_validated(figure).to_dict()["layout"]  # lists where plotly keeps lists


def test_lossless_pictures_decode_to_the_same_pixels_in_every_channel_layout():
    rng = np.random.default_rng(5)
    for shape, mode in [((7, 9), "L"), ((7, 9, 2), "LA"), ((7, 9, 3), "RGB"), ((7, 9, 4), "RGBA"), ((1, 1, 3), "RGB")]:
        picture = rng.integers(0, 256, shape, dtype=np.uint8)
        data, mime = viz.encode_picture(picture, lossless=True)
        decoded = _decoded(data)
        assert mime == "image/png" and decoded.mode == mode
        np.testing.assert_array_equal(np.asarray(decoded), picture)
    deep = rng.integers(0, 65536, (7, 9), dtype=np.uint16)  # not 8-bit: Pillow writes it
    np.testing.assert_array_equal(np.asarray(_decoded(viz.encode_picture(deep, lossless=True)[0])), deep)
    # A flat label picture keeps its exact colours and compresses.
    labels = viz.colourise(np.add.outer(np.arange(200) // 40, np.arange(300) // 50))
    data, _ = viz.encode_picture(labels, lossless=True)
    assert len(data) < labels.nbytes / 20
    np.testing.assert_array_equal(np.asarray(_decoded(data)), labels)


@pytest.mark.parametrize("default", ["plotly", "streamlit"])
def test_figures_carry_the_default_templates_layout_and_only_their_trace_types_defaults(default, monkeypatch):
    import json

    import plotly.io as pio
    from plotly.utils import PlotlyJSONEncoder

    if default == "streamlit":
        import streamlit.elements.plotly_chart  # noqa: F401  (registers Streamlit's template)
    monkeypatch.setattr(pio.templates, "default", default)

    def plain(value):
        return json.loads(json.dumps(value, cls=PlotlyJSONEncoder))

    whole = plain(pio.templates[default].to_plotly_json())
    figure = viz.stage_figure("a stage", _rng.random((40, 60)))  # an image and a scatter carrying the colour bar
    template = plain(figure.layout.template.to_plotly_json())
    assert template["layout"] == whole["layout"]
    assert template["data"] == {"scatter": whole["data"]["scatter"]}
    assert "data" not in plain(viz.stage_figure("mask", _rng.random((9, 9)) > 0.5).layout.template.to_plotly_json())
    # Changing one figure's template leaves the next figure's alone (the kept part is not shared).
    figure.update_layout(template_layout_font_size=31)
    assert viz.stage_figure("again", _rng.random((40, 60))).layout.template.layout.font.size != 31


def test_a_3d_cloud_can_be_drawn_as_a_still_picture_in_its_cluster_colours():
    import json

    import plotly.io as pio

    labels = np.repeat([1, 2, 3], 20)
    cloud = Points(_rng.random((60, 3)), labels, _rng.random((3, 3)), ("r", "g", "b"))
    still = viz.stage_figure("cloud", cloud, still=True)
    assert [trace.type for trace in still.data] == ["image"] + ["scatter"] * 4
    legend = [trace.name for trace in still.data[1:] if trace.showlegend is not False]
    assert legend == ["cluster 1", "cluster 2", "cluster 3", "centres"], "the interactive figure's legend"
    assert all(trace.x == (None,) for trace in still.data[1:]), "legend markers draw no points"
    assert [note.text for note in still.layout.annotations] == ["r", "g", "b"]
    assert json.loads(pio.to_json(still, validate=False)) == json.loads(pio.to_json(_as_validated(still)))
    assert still.to_dict()["layout"] == _as_validated(still).to_dict()["layout"]
    picture = np.asarray(_decoded(_image_trace(still).source).convert("RGB"))
    drawn = {tuple(c) for c in picture.reshape(-1, 3)}
    assert {tuple(c) for c in viz.label_colours(4)[1:]} <= drawn, "the overlay's colour of each cluster"
    assert viz.stage_figure("cloud", cloud).data[0].type == "scatter3d", "interactive unless asked"
    flat = Points(_rng.random((60, 2)), labels, None, ("x", "y"))
    assert viz.stage_figure("flat", flat, still=True).data[0].type == "scattergl", "only 3-D clouds have a still"
    assert viz.is_3d_cloud(cloud) and not viz.is_3d_cloud(flat) and not viz.is_3d_cloud(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="expected \\(N, 3\\)"):
        viz.still_cloud_figure(flat)


def test_covered_sums_are_exact_over_blocks_and_the_rest():
    n = 3 * viz._EXACT_ROWS + 123  # three whole blocks of the largest exact float32 sums, and a tail
    pixels = np.full((n, 3), 255, np.uint8)
    pixels[::7] = _rng.integers(0, 256, (len(pixels[::7]), 3))
    mask = _rng.random(n) < 0.9
    expected = pixels[mask].sum(axis=0, dtype=np.int64)
    np.testing.assert_array_equal(viz._covered_sums(pixels, mask), expected)
    np.testing.assert_array_equal(viz._covered_sums(pixels[:50], mask[:50]), pixels[:50][mask[:50]].sum(axis=0))
