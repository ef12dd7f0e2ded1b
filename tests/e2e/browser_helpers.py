"""Helpers for browser tests: constants, waiting for Streamlit, reading metrics, screenshots."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WAIT_MS = 60_000
WIDTHS = (800, 1024, 1400)  # a small laptop, a projector and a wide screen: the ``sized_page`` fixture's widths

# Each chart's title, and its margins as asked and as plotly laid them out (left, right, top, bottom): a colour
# bar, axis labels or a legend that outgrows its margins makes plotly lay the figure out and draw it twice.
MARGINS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(d => {
    const asked = d.layout.margin || {}, laid = d._fullLayout._size;
    return [d._fullLayout.title.text || '', ['l', 'r', 't', 'b'].map(k => asked[k]),
            ['l', 'r', 't', 'b'].map(k => Math.round(laid[k]))];
})"""

BROWSER_MARKS = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium not installed at {CHROMIUM}"),
]


def metric(page, label: str) -> str:
    """The value shown by the st.metric whose label contains ``label``."""
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def wait_idle(page) -> None:
    """Wait until Streamlit finished the current run (the 'running' indicator is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=WAIT_MS)


def slide_to(page, label: str, target: float, key: str = "ArrowRight", rounds: int = 5) -> float:
    """Move the slider labelled ``label`` with the keyboard until it shows ``target`` or beyond; its value.

    A rerun that lands while keys are pressed re-renders the slider (dropping its focus) and may
    set it back to the value the server last saw, so the slider is focused again before every
    key and read again once the app is idle, as a person would look again and press on.
    """
    slider = page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")
    past = (lambda v: v >= target - 1e-9) if key == "ArrowRight" else (lambda v: v <= target + 1e-9)
    for _ in range(rounds):
        for _ in range(500):
            if past(float(slider.input_value())):
                break
            slider.focus()
            page.keyboard.press(key)
        wait_idle(page)
        value = float(slider.input_value())
        if past(value):
            return value
    raise AssertionError(f"slider {label!r} stayed at {value}, short of {target}")


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stMetric"]', timeout=WAIT_MS)
    wait_idle(page)


def ramp_png(path: Path) -> Path:
    ramp = np.arange(160) * 255 // 159  # a gray ramp, dark to bright: a threshold moves the boundary
    image = np.broadcast_to(ramp[None, :, None], (120, 160, 3)).astype(np.uint8)
    Image.fromarray(image).save(path)
    return path


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


