"""The dashboard in a real browser: Streamlit server + Playwright driving Debian's Chromium.

Screenshots land in tests/e2e/screenshots/ (ignored by git).
"""

from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from browser_helpers import (BROWSER_MARKS, MARGINS_JS, WAIT_MS, metric, open_page, ramp_png, screenshot, slide_to,
                             wait_idle)
from PIL import Image

import seglib
from seglib.samples import load_sample

pytestmark = BROWSER_MARKS


def test_upload_then_slider_changes_the_result(server, page, tmp_path):
    open_page(page, f"{server}/?method=global-threshold")
    screenshot(page, "explore-start")

    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(ramp_png(tmp_path / "ramp.png")))
    page.get_by_text("ramp.png: 160 x 120 px").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    before = metric(page, "Foreground")

    value = slide_to(page, "Threshold", 0.7)  # from 0.5 in steps of 0.005
    page.wait_for_function(
        """([label, before]) => [...document.querySelectorAll('[data-testid="stMetric"]')]
             .some(m => m.innerText.includes(label) && !m.innerText.includes(before))""",
        arg=["Foreground", before], timeout=WAIT_MS)
    # the share URL follows the slider
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("p.threshold") == [f"{value:g}"], timeout=WAIT_MS)
    after = metric(page, "Foreground")
    assert float(after.rstrip("%")) < float(before.rstrip("%"))
    screenshot(page, "explore-after-slider")


def test_corrupt_upload_shows_an_error_and_keeps_the_image(server, page, tmp_path):
    open_page(page, server)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(broken))
    error = page.locator('[data-testid="stAlert"]').filter(has_text="broken.png")
    error.first.wait_for(timeout=WAIT_MS)
    assert page.locator('[data-testid="stMain"] [data-testid="stAlert"]').filter(has_text="broken.png").count() == 1, \
        "the refusal is said in the main area too, not only in the sidebar"
    assert page.get_by_text("Greek coins from Pompeii: 384 x 303 px").is_visible()
    screenshot(page, "explore-corrupt-upload")


@pytest.mark.parametrize("query", ["method=canny", "method=kmeans&sample=astronaut"])
def test_methods_render_with_stages(server, page, query):
    open_page(page, f"{server}/?{query}")
    page.wait_for_selector(".js-plotly-plot", timeout=WAIT_MS)
    assert page.locator('[data-testid="stAlert"]').filter(has_text="failed").count() == 0
    screenshot(page, "explore-" + query.split("&")[0].split("=")[1])


@pytest.mark.parametrize("query", ["method=global-threshold&sample=astronaut", "method=sobel&sample=coins",
                                   "method=kmeans&sample=astronaut&p.n_clusters=7",
                                   "method=kmeans&sample=camera&p.n_clusters=6"])
def test_stage_figures_are_laid_out_once(server, page, query):
    open_page(page, f"{server}/?{query}")
    page.wait_for_selector(".js-plotly-plot", timeout=WAIT_MS)
    wait_idle(page)
    charts = page.evaluate(MARGINS_JS)
    assert len(charts) >= 2
    pushed = [(title, asked, laid) for title, asked, laid in charts if asked != laid]
    assert not pushed, f"margins pushed out (title, asked, laid out): {pushed}"


def test_the_pixel_cloud_is_a_picture_until_turned_in_3d(server, page):
    open_page(page, f"{server}/?method=kmeans&sample=astronaut")
    cloud = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="pixel cloud")
    cloud.locator(".imagelayer image").wait_for(timeout=WAIT_MS)
    assert page.locator(".js-plotly-plot .gl-container canvas").count() == 0, "no WebGL scene while still"
    page.locator('[data-testid="stCheckbox"]').filter(has_text="Turn in 3-D").locator("label").click()
    page.locator('[data-testid="stPlotlyChart"]').filter(has_text="pixel cloud") \
        .locator(".gl-container canvas").first.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    screenshot(page, "explore-kmeans-cloud-3d")


def test_full_resolution_label_map_downloads_tiled(server, page, tmp_path):
    open_page(page, f"{server}/?method=global-threshold&sample=coins")
    sizes = page.locator('[data-testid="stSidebar"] [data-testid="stSlider"]').filter(has_text="Working resolution")
    sizes.get_by_role("slider").focus()
    page.keyboard.press("Home")  # 256 px: below the coins' 384 px
    wait_idle(page)
    page.get_by_text("Download and reuse").click()
    button = page.get_by_role("button", name="Label map at full resolution (tiled)")
    button.wait_for(timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as download:
        button.click()
    path = tmp_path / "labels.png"
    download.value.save_as(path)
    labels = np.asarray(Image.open(path))
    expected = seglib.segment(load_sample("coins"), "global-threshold", working_size=None).labels
    np.testing.assert_array_equal(labels, expected)
    screenshot(page, "explore-full-resolution-download")
