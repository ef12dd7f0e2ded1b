"""Compare's share links: panels, their values, the picture and one shared prompt travel in the address.

The parser (ui.share.parse_query with ``panels=``) is tested on plain
dicts; the page through AppTest, with a small random SAM 2.1 from the
``small_sam2`` fixture (tests/app/conftest.py).
"""

from pathlib import Path

import pytest
from helpers import count_calls
from streamlit.testing.v1 import AppTest

import seglib
from ui import image_picker as picker
from ui import panels, run
from ui import prompt_canvas as canvas
from ui.params import widget_key
from ui.share import encode_compare_query, parse_query, query_string

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180
BOX = (40.0, 30.0, 220.0, 190.0)
POINT = (130.0, 110.0, 1)
THREE = "sam2,grabcut,random-walker"


# ---------------------------------------------------------------- the parser


def test_compare_link_parses_panels_values_picture_and_prompt():
    view = parse_query({"methods": THREE, "sample": "coins", "p2.iterations": "2", "p3.beta": "100",
                        "pre.blur_sigma": "1", "box": "40,30,220,190", "points": "130,110,1"},
                       panels=panels.MAX_PANELS)
    assert not view.warnings
    assert [m.name for m in view.panels] == THREE.split(",") and view.method is None
    assert [(i, spec.name, v) for i, spec, v in view.panel_values] == [(1, "iterations", 2), (2, "beta", 100.0)]
    assert [(scope, spec.name, v) for scope, spec, v in view.values] == [("pre", "blur_sigma", 1.0)]
    assert view.sample == "coins" and view.prompts == {"box": BOX, "points": [POINT]}


def test_encode_compare_query_writes_what_the_parser_reads():
    sam2, grabcut, otsu = (seglib.method(s) for s in ("sam2", "grabcut", "otsu"))
    chosen = [(sam2, sam2.defaults()), (grabcut, grabcut.defaults() | {"smoothness": 80.0}), (otsu, {})]
    picked = picker.select_scene(5, "easy", 128, {})
    query = encode_compare_query(chosen, {"blur_sigma": 0.0}, None, picked, prompts={"box": BOX})
    assert query == {"methods": "sam2,grabcut,otsu", "scene": "5,easy,128", "p2.smoothness": "80",
                     "box": "40,30,220,190"}
    view = parse_query(query, panels=panels.MAX_PANELS)
    assert not view.warnings and view.scene == (5, "easy", 128) and view.prompts == {"box": BOX}
    assert [(i, spec.name, v) for i, spec, v in view.panel_values] == [(1, "smoothness", 80.0)]
    assert query_string(query) == "?methods=sam2,grabcut,otsu&scene=5,easy,128&p2.smoothness=80&box=40,30,220,190"
    no_prompt = encode_compare_query([(otsu, {}), (otsu, {})], prompts={"box": BOX})
    assert no_prompt == {"methods": "otsu,otsu"}, "a prompt travels only when a panel takes one"


@pytest.mark.parametrize("query, fragments", [
    ({"methods": "sam2,nope,grabcut"}, ["method 2 of `methods`", "`nope`", "no such method"]),
    ({"methods": "otsu,otsu,otsu,otsu,kmeans"}, ["Ignored 1 of the 5 methods", "at most 4 panels"]),
    ({"methods": "otsu,kmeans", "p3.sigma": "1"}, ["`p3.sigma`", "panel 3 has no method"]),
    ({"methods": "otsu,grabcut", "p2.iterations": "99"}, ["`p2.iterations`", "iterations"]),
    ({"methods": "otsu,grabcut", "p2.nothing": "1"}, ["`p2.nothing`", "Panel 2's GrabCut", "no parameter"]),
    ({"methods": "otsu,grabcut", "p5.x": "1"}, ["`p5.x`", "not a setting"]),
    ({"methods": "otsu,grabcut", "method": "otsu"}, ["`method`", "one method per panel"]),
    ({"methods": "otsu,grabcut", "p.sigma": "2"}, ["`p.sigma`", "pn.name"]),
    ({"methods": "otsu,grabcut", "box": "1,2,3"}, ["`box`", "x0,y0,x1,y1"]),
])
def test_compare_link_entries_that_are_wrong_are_ignored_with_a_reason(query, fragments):
    view = parse_query(query, panels=panels.MAX_PANELS)
    [warning] = view.warnings
    for fragment in fragments:
        assert fragment in warning, warning
    assert not view.panel_values and "box" not in view.prompts


def test_a_link_opens_the_parameters_of_the_panels_it_tuned():
    view = parse_query({"methods": THREE, "p2.iterations": "2"}, panels=panels.MAX_PANELS)
    state = {}
    panels.restore_panels(view, state)
    assert state[panels.params_open_key(1)] is True, "the receiver sees the tuned value"
    assert not any(panels.params_open_key(i) in state for i in (0, 2)), "untuned panels stay closed"


def test_explore_points_at_compare_for_compare_entries():
    [warning] = parse_query({"method": "otsu", "methods": "otsu,kmeans"}).warnings
    assert "`methods`" in warning and "/compare" in warning


# ---------------------------------------------------------------- the page


def compare(query, state=None):
    at = AppTest.from_file(str(ROOT / "app_pages" / "compare.py"), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


@pytest.fixture
def calls(monkeypatch):
    """Every method call the page makes (method slug, its arguments), with no cached result in the way."""
    run.clear()
    recorded = count_calls(monkeypatch, run, "_call")
    yield lambda: {args[1]: args[2] for args in recorded}
    run.clear()


def methods_shown(at, count=None):
    count = at.session_state[panels.COUNT_KEY] if count is None else count
    return [at.selectbox(key=panels.method_key(i)).value for i in range(count)]


def test_a_link_runs_sam2_grabcut_and_random_walker_on_its_box(small_sam2, calls):
    at = compare({"methods": THREE, "sample": "coins", "box": "40,30,220,190", "points": "130,110,1",
                  "p2.iterations": "2"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not at.warning, [w.value for w in at.warning]
    assert methods_shown(at) == THREE.split(",")
    assert at.session_state[picker.IMAGE_KEY].sample == "coins"
    assert at.slider(key=widget_key(panels.panel_scope(1, "grabcut"), "iterations")).value == 2
    assert at.session_state[canvas.ITEMS_KEY] == [["point", *POINT], ["box", *BOX]]
    ran = calls()
    assert set(ran) == set(THREE.split(","))
    for slug in ran:
        assert ran[slug]["box"] == BOX and ran[slug]["points"] == [POINT], slug
    assert ran["grabcut"]["iterations"] == 2
    assert [o for o in at.selectbox(key="compare.download_panel").options] == [
        "1. Segment Anything 2.1 (SAM 2.1)", "2. GrabCut (box + colour models + graph cut)",
        "3. Random walker (seeded)"], "each panel has a result"
    assert at.query_params["box"] == "40,30,220,190" and at.query_params["methods"] == THREE


def test_a_box_alone_runs_sam2_grabcut_and_random_walker_on_that_box(small_sam2, calls):
    at = compare({"methods": THREE, "sample": "coins", "box": "40,30,220,190"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert set(calls()) == {"sam2", "grabcut", "random-walker"}
    assert all(args["box"] == BOX and "points" not in args for args in calls().values())
    assert not [i.value for i in at.info if "needs" in i.value]  # the random walker seeds the box's centre


def test_bad_entries_warn_and_the_rest_of_the_link_still_applies(calls):
    at = compare({"methods": "otsu,nope,grabcut", "sample": "coins", "p2.sigma": "1", "p3.iterations": "99",
                  "p3.smoothness": "80", "box": "40,30,2200,190", "method": "otsu"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    for fragment in ("`nope`", "`p2.sigma`", "`p3.iterations`", "Ignored the link's `box`", "outside the image",
                     "`method`"):
        assert fragment in warnings, fragment
    shown = methods_shown(at)
    assert shown[0] == "otsu" and shown[2] == "grabcut" and shown[1] != "nope"
    assert at.slider(key=widget_key(panels.panel_scope(2, "grabcut"), "smoothness")).value == 80
    assert "box" not in calls()["grabcut"], "the box outside the picture stayed off the canvas"
    assert " ".join(w.value for w in at.run().warning) == warnings, "a rerun keeps them on the page"


def query_of(at) -> dict:
    return {key: at.query_params[key] for key in at.query_params}


def test_the_link_a_compare_page_writes_restores_the_same_view(small_sam2):
    state = {panels.COUNT_KEY: 3, panels.method_key(0): "sam2", panels.method_key(1): "grabcut",
             panels.method_key(2): "otsu", widget_key(panels.panel_scope(1, "grabcut"), "components"): 3}
    picked = picker.select_scene(5, "easy", 128, state)
    canvas.prompt_items(picked, state)
    canvas.set_box(10, 12, 90, 100, state)
    canvas.add_point(50, 60, 1, state)
    first = compare({}, state)
    assert not first.exception and not first.error, [e.value for e in first.error]
    link = query_of(first)
    assert link["methods"] == "sam2,grabcut,otsu" and link["p2.components"] == "3" and link["scene"] == "5,easy,128"
    assert link["box"] == "10,12,90,100" and link["points"] == "50,60,1"

    second = compare(link)
    assert not second.exception and not second.warning, [w.value for w in second.warning]
    assert methods_shown(second) == ["sam2", "grabcut", "otsu"]
    assert second.slider(key=widget_key(panels.panel_scope(1, "grabcut"), "components")).value == 3
    assert second.session_state[picker.IMAGE_KEY].scene == (5, "easy", 128)
    assert canvas.prompt_args(second.session_state[canvas.ITEMS_KEY]) == {"points": [(50, 60, 1)],
                                                                          "box": (10, 12, 90, 100)}
    assert query_of(second) == link


def test_a_link_resets_values_it_leaves_out_to_their_defaults():
    # The first preset gives the local threshold a large window; a link without p2.block_size means the default.
    at = compare({"methods": "otsu,adaptive-threshold"})
    assert not at.exception
    spec = seglib.method("adaptive-threshold").param("block_size")
    at.session_state[panels.params_open_key(1)] = True  # a link without values leaves it closed: the user opens it
    key = widget_key(panels.panel_scope(1, "adaptive-threshold"), "block_size")
    assert at.run().slider(key=key).value == spec.default
    assert at.session_state[panels.COUNT_KEY] == 2
