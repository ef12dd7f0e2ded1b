"""Shared browser-test fixtures: a Streamlit server on a free port and Debian's Chromium via Playwright.

Test modules here import the helpers (``open_page``, ``metric``, ``wait_idle``,
``screenshot``) from this file's sibling ``browser_helpers`` and mark
themselves with ``BROWSER_MARKS`` so they skip only when Chromium is missing.
A module whose server needs small random SAM weights asks for
``small_sam_weights`` from a module-scoped autouse fixture.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import torch

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT
from seglib.deep import sam
from seglib.deep.sam import sam2_model


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


@pytest.fixture
def sized_page(browser, request):
    """A page ``request.param`` pixels wide and 768 high (a projector's height), for tests parametrised
    over ``browser_helpers.WIDTHS`` with ``indirect=True``."""
    context = browser.new_context(viewport={"width": request.param, "height": 768})
    page = context.new_page()
    page.viewport_width = request.param
    yield page
    context.close()


@pytest.fixture(scope="module")
def small_sam_weights(tmp_path_factory):
    """A tiny random SAM and a small random SAM 2.1 named by their environment variables for the module.

    A module that needs them asks for this fixture from an autouse one, so it runs before the module's
    server starts and the server inherits them.
    """
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("sam")
    paths = {sam.WEIGHTS_ENV: sam.save_sam_weights(sam.build_sam(sam.TINY_CONFIG), sam.TINY_CONFIG,
                                                   folder / "tiny.safetensors"),
             sam2_model.WEIGHTS_ENV: sam2_model.save_sam2_weights(sam2_model.build_sam2_network(
                 sam2_model.TEST_CONFIG), sam2_model.TEST_CONFIG, folder / "small-sam2.safetensors")}
    before = {name: os.environ.get(name) for name in paths}
    os.environ.update({name: str(path) for name, path in paths.items()})
    yield paths
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
