"""The README's newcomer checklist ("How to add a method"), done as a newcomer would.

A prompt-driven method is registered here, in the test, exactly as the
README shows; with no page edited it appears on Explore, Compare and
Prompt, with its slider, and runs. It is un-registered afterwards so no
other test sees it.
"""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import seglib
from seglib.interactive import working_prompts
from seglib.prompts import point_pixels
from seglib.registry import Param, register, unregister
from seglib.result import Segmentation
from ui import image_picker as picker
from ui import panels, run
from ui import prompt_canvas as canvas
from ui.params import widget_key

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120
SLUG = "toy-disk"
SCENE = (1, "easy", 128)


def toy_disk(image, *, points=None, box=None, original_shape=None, radius: int = 6):
    """A disk of ``radius`` pixels around each object point: the simplest prompt-driven method."""
    prompts, notes = working_prompts(image, points, box, original_shape, method=SLUG)
    rows, cols = np.ogrid[:image.shape[0], :image.shape[1]]
    mask = np.zeros(image.shape[:2], dtype=bool)
    for r, c in zip(*point_pixels(prompts.positive, prompts.shape)):
        mask |= (rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2
    return Segmentation(labels=mask.astype(np.int32), stages={"disks": mask}, notes=notes)


@pytest.fixture
def toy():
    """``toy_disk`` registered as a new method for the length of one test."""
    register(
        SLUG,
        title="Toy disk",
        family="interactive",
        kind="binary",
        params=(Param("radius", 6, low=1, high=40, help="Radius of the disk drawn around each click, in pixels."),),
        description="Marks a disk around every object click. A toy that shows how a prompt-driven method "
                    "plugs into every page.",
        references=("The README's 'How to add a method'.",),
        inputs=("points", "box"),
        supplied=("original_shape",),
        prompt_need="point",
    )(toy_disk)
    run.clear()
    yield seglib.method(SLUG)
    unregister(SLUG)
    run.clear()


def _scene_state() -> dict:
    state = {}
    picker.select_scene(*SCENE, state)
    return state


def _app(page: str, state: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / page), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    return at


def test_the_toy_is_callable_like_a_library_function(toy):
    image = np.zeros((40, 60))
    direct = toy_disk(image, points=[(30, 20, 1)], original_shape=(40, 60))
    assert direct.labels.sum() == np.count_nonzero(direct.stages["disks"]) > 100  # default radius 6
    result = seglib.segment(image, SLUG, points=[(30, 20, 1)], radius=3)
    assert result.labels[20, 30] == 1 and result.labels.sum() < direct.labels.sum()
    with pytest.raises(ValueError, match="radius=99 is not allowed"):
        seglib.segment(image, SLUG, points=[(30, 20, 1)], radius=99)


def test_the_toy_appears_on_explore_with_its_slider(toy):
    at = _app("explore.py", _scene_state()).run()
    at.button_group(key="explore.family").set_value("interactive").run()
    box = at.selectbox(key="explore.method.interactive")
    assert SLUG in box.options or toy.title in box.options
    box.set_value(SLUG).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.slider(key=widget_key(SLUG, "radius")).set_value(10).run()
    assert not at.exception and not at.error
    assert "Time" in [m.label for m in at.metric]
    texts = [e.value for e in (*at.caption, *at.info, *at.markdown)]
    assert any("click at the image centre" in text for text in texts), "its note says a default click stood in"


def test_the_toy_appears_on_compare(toy):
    state = _scene_state() | {panels.COUNT_KEY: 2, panels.method_key(0): SLUG, panels.method_key(1): "otsu"}
    at = _app("compare.py", state).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key=panels.method_key(0)).value == SLUG
    assert list(at.dataframe[0].value["method"])[0] == "1. Toy disk"


def test_the_toy_appears_on_prompt_and_answers_a_click(toy):
    state = _scene_state()
    picked = state[picker.IMAGE_KEY]
    state |= {canvas.IMAGE_KEY: picked.key, canvas.ITEMS_KEY: [["point", 64, 64, 1]], "prompt.methods": [SLUG]}
    at = _app("prompt.py", state).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert SLUG in at.multiselect(key="prompt.methods").options or "Toy disk" in at.multiselect(
        key="prompt.methods").options
    assert any(m.value == "**Toy disk**" for m in at.markdown)
    assert "Time" in [m.label for m in at.metric]
    assert canvas.missing(SLUG, [["point", 3, 3, 0]]).startswith("an object point")

