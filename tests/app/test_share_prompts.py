"""Share links that carry prompts: Explore runs SAM 2.1 (or any prompted method) on a link's points and box."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import seglib
from ui.share import encode_query, format_prompts, parse_query

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120
BOX = (40.0, 30.0, 220.0, 190.0)


def test_points_and_a_box_round_trip_for_methods_that_take_them():
    sam2 = seglib.method("sam2")
    prompts = {"points": [(120, 80.5, 1), (10, 12, 0)], "box": BOX}
    query = encode_query(sam2, sam2.defaults(), prompts=prompts)
    assert query == {"method": "sam2", "points": "120,80.5,1;10,12,0", "box": "40,30,220,190"}
    view = parse_query(query)
    assert view.method is sam2 and not view.warnings
    assert view.prompts == {"points": [(120.0, 80.5, 1), (10.0, 12.0, 0)], "box": BOX}
    canny = seglib.method("canny")
    assert "box" not in encode_query(canny, canny.defaults(), prompts=prompts), "only methods that take prompts"


@pytest.mark.parametrize("key, text", [("points", "1,2"), ("points", "1,2,7"), ("points", "a,b,1"),
                                       ("box", "5,5,5,9"), ("box", "1,2,3"), ("box", "nan,1,2,3")])
def test_malformed_prompts_are_ignored_with_a_warning(key, text):
    view = parse_query({"method": "sam2", key: text})
    assert key not in view.prompts
    [warning] = view.warnings
    assert f"Ignored `{key}`" in warning


def test_format_prompts_writes_numbers_plainly():
    assert format_prompts({"points": [(3.0, 4.25, 1)], "box": None}) == {"points": "3,4.25,1"}


def explore(query):
    at = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_explore_runs_sam2_on_the_links_box_and_keeps_it_in_the_link(small_sam2):
    at = explore({"method": "sam2", "sample": "coins", "box": "40,30,220,190"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Prompts from the link: box (40, 30, 220, 190)" in c.value for c in at.caption)
    assert not any("stood in" in c.value for c in at.caption), "the link's box, not a default click"
    assert at.query_params["box"] == "40,30,220,190" and at.query_params["method"] == "sam2"


def test_explore_runs_grabcut_on_the_same_box():
    at = explore({"method": "grabcut", "sample": "coins", "box": "40,30,220,190"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not any("needs a box" in str(i.value) for i in at.info)
    assert "Time" in {m.label for m in at.metric}
