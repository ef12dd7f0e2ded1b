"""The dashboard in a real browser: Streamlit server + Playwright driving Debian's Chromium.

Screenshots land in tests/e2e/screenshots/ (ignored by git).
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium not installed at {CHROMIUM}"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    page = context.new_page()
    yield page
    context.close()


def _metric(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def _wait_idle(page) -> None:
    """Wait until Streamlit finished the current run (the 'running' indicator is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=WAIT_MS)


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stMetric"]', timeout=WAIT_MS)
    _wait_idle(page)


def _png(path: Path) -> Path:
    ramp = np.arange(160) * 255 // 159  # a gray ramp, dark to bright: a threshold moves the boundary
    image = np.broadcast_to(ramp[None, :, None], (120, 160, 3)).astype(np.uint8)
    Image.fromarray(image).save(path)
    return path


def _screenshot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_upload_then_slider_changes_the_result(server, page, tmp_path):
    _open(page, f"{server}/?method=global-threshold")
    _screenshot(page, "explore-start")

    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(_png(tmp_path / "ramp.png")))
    page.get_by_text("ramp.png: 160 x 120 px").wait_for(timeout=WAIT_MS)
    _wait_idle(page)
    before = _metric(page, "Foreground")

    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Threshold").get_by_role("slider")
    slider.focus()
    for _ in range(40):  # 40 steps of 0.005: the threshold rises by 0.2
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        """([label, before]) => [...document.querySelectorAll('[data-testid="stMetric"]')]
             .some(m => m.innerText.includes(label) && !m.innerText.includes(before))""",
        arg=["Foreground", before], timeout=WAIT_MS)
    page.wait_for_url("**p.threshold=0.7*", timeout=WAIT_MS)  # the share URL follows the slider
    after = _metric(page, "Foreground")
    assert float(after.rstrip("%")) < float(before.rstrip("%"))
    _screenshot(page, "explore-after-slider")


def test_corrupt_upload_shows_an_error_and_keeps_the_image(server, page, tmp_path):
    _open(page, server)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(broken))
    error = page.locator('[data-testid="stAlert"]').filter(has_text="broken.png")
    error.wait_for(timeout=WAIT_MS)
    assert page.get_by_text("Greek coins from Pompeii: 384 x 303 px").is_visible()
    _screenshot(page, "explore-corrupt-upload")


@pytest.mark.parametrize("query", ["method=canny", "method=kmeans&sample=astronaut"])
def test_methods_render_with_stages(server, page, query):
    _open(page, f"{server}/?{query}")
    page.wait_for_selector(".js-plotly-plot", timeout=WAIT_MS)
    assert page.locator('[data-testid="stAlert"]').filter(has_text="failed").count() == 0
    _screenshot(page, "explore-" + query.split("&")[0].split("=")[1])

