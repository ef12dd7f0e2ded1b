"""The Prompt page in a real browser: click the picture, see masks; drag a box; small SAMs through the environment.

The server runs with ``$SEGDASH_SAM2_WEIGHTS`` and ``$SEGDASH_SAM_WEIGHTS``
naming a small random SAM 2.1 (the page's default Segment Anything) and a
tiny random SAM (conftest's ``small_sam_weights``, set before the module's
server starts), so their whole path runs in the browser without a download.
"""

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from browser_helpers import BROWSER_MARKS, WAIT_MS, metric, open_page, screenshot, wait_idle
from seglib.datasets.shapes import make_scene
from ui.image_picker import DEFAULT_SCENE

pytestmark = BROWSER_MARKS

CANVAS = 'iframe[title="streamlit_image_coordinates.streamlit_image_coordinates"]'


@pytest.fixture(scope="module", autouse=True)
def small_sams(small_sam_weights):
    """Autouse and module-scoped, so the weights are named before the module's server starts."""
    return small_sam_weights


@pytest.fixture(scope="module")
def target():
    """The largest object of the default scene made easy: a click deep inside it, its box, the scene's size."""
    seed, _, size = DEFAULT_SCENE
    scene = make_scene(seed, size=size, difficulty="easy")
    counts = np.bincount(scene.instances.ravel())
    counts[0] = 0
    obj = scene.instances == counts.argmax()
    row, col = np.unravel_index(ndi.distance_transform_edt(obj).argmax(), obj.shape)
    rows, cols = np.nonzero(obj)
    return {"click": (int(col), int(row)), "box": (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1),
            "size": size}


def open_prompt_page(page, server):
    open_page(page, server)  # the entry page first: a fresh server asked for /prompt would serve the bare script
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Prompt").click()
    page.get_by_role("heading", name="Prompt").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    page.get_by_text("Synthetic scene (with ground truth)").click()
    page.get_by_role("button", name="Use this scene").click()  # Explore left a sample without truth
    wait_idle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("Easy", exact=True).click()
    wait_idle(page)
    page.frame_locator(CANVAS).locator("#image").wait_for(timeout=WAIT_MS)


def canvas_point(page, x, y, size):
    """Page coordinates of image pixel (x, y) on the canvas, once the layout has stopped moving."""
    image = page.frame_locator(CANVAS).locator("#image")
    box, previous = image.bounding_box(), None
    while box != previous:
        page.wait_for_timeout(250)
        box, previous = image.bounding_box(), box
    return box["x"] + (x + 0.5) * box["width"] / size, box["y"] + (y + 0.5) * box["height"] / size


def canvas_pixels(page) -> np.ndarray:
    shot = page.frame_locator(CANVAS).locator("#image").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), dtype=np.float64)


def wait_for_text(page, text):
    page.get_by_text(text).first.wait_for(timeout=WAIT_MS)
    wait_idle(page)


def test_clicking_the_picture_segments_the_object(server, page, target):
    open_prompt_page(page, server)
    before = canvas_pixels(page)
    x, y = target["click"]
    page.mouse.click(*canvas_point(page, x, y, target["size"]))
    wait_for_text(page, "Prompts (1)")
    listed = page.get_by_text("object point at (").first.inner_text()
    shown_x, shown_y = (int(v) for v in listed.split("(")[1].rstrip(")").split(","))
    assert abs(shown_x - x) <= 1 and abs(shown_y - y) <= 1, (listed, target["click"])
    page.locator('[data-testid="stMetric"]').filter(has_text="Time").first.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    after = canvas_pixels(page)
    assert after.shape == before.shape
    assert np.abs(after - before).mean() > 2, "the mask and the marker appear on the picture"
    ious = [float(v) for v in page.locator('[data-testid="stMetric"]').filter(has_text="IoU")
            .locator('[data-testid="stMetricValue"]').all_inner_texts()]
    assert len(ious) >= 3 and max(ious) >= 0.9, ious  # SAM 2.1's random weights score nothing; the others do
    assert page.locator('[data-testid="stAlert"]').filter(has_text="failed").count() == 0
    screenshot(page, "prompt-click")


def test_dragging_a_box_runs_grabcut_and_sam_reuses_its_embedding(server, page, target):
    open_prompt_page(page, server)
    x, y = target["click"]
    page.mouse.click(*canvas_point(page, x, y, target["size"]))
    wait_for_text(page, "Prompts (1)")
    page.locator('[data-testid="stMetric"]').filter(has_text="Encoder").first.wait_for(timeout=WAIT_MS)
    assert metric(page, "Encoder") != "cached"

    page.locator('[data-testid="stButtonGroup"]').filter(has_text="Object point").get_by_text("Box", exact=True).click()
    wait_idle(page)
    x0, y0, x1, y1 = target["box"]
    page.mouse.move(*canvas_point(page, x0 - 6, y0 - 6, target["size"]))
    page.mouse.down()
    page.mouse.move(*canvas_point(page, x1 + 6, y1 + 6, target["size"]), steps=10)
    page.mouse.up()
    wait_for_text(page, "Prompts (2)")
    assert page.get_by_text("box (").count() >= 1
    page.locator('[data-testid="stMetric"]').filter(has_text="Time").nth(2).wait_for(timeout=WAIT_MS)
    wait_idle(page)
    assert page.get_by_text("needs a box").count() == 0, "GrabCut ran"
    assert metric(page, "Encoder") == "cached", "the second prompt reused SAM 2.1's image embedding"
    screenshot(page, "prompt-box")
