"""deploy/: two Streamlit replicas behind nginx on loopback ports, driven through the proxy.

Skips when nginx is not installed (Debian: ``apt-get install nginx``; .ci/run installs it);
the browser check also needs Chromium.
"""

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from benchmarks.streamlit_client import Session
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, open_page

spec = importlib.util.spec_from_file_location("segdash_launch", ROOT / "deploy" / "launch.py")
launch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(launch)

NGINX = launch.find_nginx()
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)")
pytestmark = [pytest.mark.e2e, needs_nginx]


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            first = sock.getsockname()[1]
        if first + count > 65535:
            continue
        try:
            socks = [socket.socket() for _ in range(count)]
            for i, s in enumerate(socks):
                s.bind(("127.0.0.1", first + i))
            return first
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no consecutive free ports")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    first = _free_ports(3)
    listen = f"127.0.0.1:{first}"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "launch.py"), "--replicas", "2", "--listen", listen,
         "--first-port", str(first + 1), "--run-dir", str(tmp_path_factory.mktemp("nginx"))],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        line = ""
        deadline = time.monotonic() + 180
        while "segdash:" not in line and time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
        assert "segdash:" in line, f"the launcher did not start (exit code {process.poll()})"
        yield f"http://{listen}", [first + 1, first + 2]
    finally:
        process.send_signal(signal.SIGTERM)  # the launcher stops nginx and both replicas
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def get(url, cookie=None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers, response.read()


def test_the_page_is_served_and_a_browser_stays_on_one_replica(proxy):
    url, ports = proxy
    status, headers, body = get(url + "/")
    assert status == 200 and b"<noscript>" in body
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    assert cookie.startswith("segdash_replica=")
    first = headers["X-Segdash-Replica"]
    assert first in {f"127.0.0.1:{port}" for port in ports}
    assert {get(url + "/_stcore/health", cookie)[1]["X-Segdash-Replica"] for _ in range(8)} == {first}
    # new browsers (no cookie yet) are spread over both replicas
    assert {get(url + "/_stcore/health")[1]["X-Segdash-Replica"] for _ in range(40)} == \
        {f"127.0.0.1:{port}" for port in ports}


def test_a_session_runs_and_repaints_through_the_proxy(proxy):
    url, _ = proxy

    async def student():
        session = Session(url, "method=kmeans&sample=coins")
        opened = await session.open(timeout=180)
        slider = session.slider("param.kmeans.n_clusters")
        moved = await session.move(slider, 6, timeout=180) if slider is not None else None
        await session.close()
        return session, opened, slider, moved

    session, opened, slider, moved = asyncio.run(student())
    assert session.cookies.startswith("segdash_replica=")
    assert opened.exceptions == [] and opened.images > 0 and opened.image_bytes > 0
    assert slider is not None
    assert moved.exceptions == [] and moved.images > 0  # its images came from the session's own replica


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium not installed at {CHROMIUM}")
def test_a_browser_renders_explore_through_the_proxy(proxy):
    from playwright.sync_api import sync_playwright

    url, _ = proxy
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_page(page, url + "/?method=otsu&sample=coins")
            assert page.locator('[data-testid="stImage"] img').count() > 0
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()


def test_the_config_names_every_replica_and_nginx_accepts_it(tmp_path):
    text = launch.render_config("127.0.0.1:8080", [8501, 8502, 8503], tmp_path)
    assert all(f"server 127.0.0.1:{port}" in text for port in (8501, 8502, 8503))
    assert "{{" not in text and "hash $segdash_replica consistent" in text
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    checked = subprocess.run([NGINX, "-t", "-c", str(config), "-p", str(tmp_path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    with pytest.raises(ValueError, match="ports=\\[\\]"):
        launch.render_config("127.0.0.1:8080", [], tmp_path)


def test_replicas_share_settings_but_not_ports():
    base = {"SEGDASH_SAM_EMBEDDING_DIR": "/srv/emb", "TORCH_HOME": "/srv/torch"}
    one, two = (launch.replica_env(port, 2, "secret", base) for port in (8501, 8502))
    assert one["SEGDASH_SAM_EMBEDDING_DIR"] == two["SEGDASH_SAM_EMBEDDING_DIR"] == "/srv/emb"
    assert one["STREAMLIT_SERVER_COOKIE_SECRET"] == two["STREAMLIT_SERVER_COOKIE_SECRET"] == "secret"
    assert (one["STREAMLIT_SERVER_PORT"], two["STREAMLIT_SERVER_PORT"]) == ("8501", "8502")
    assert int(one["SEGDASH_HEAVY_WORKERS"]) >= 1
