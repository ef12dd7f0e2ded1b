"""Slider (or click) -> repainted picture in real Chromium: the dashboard against a bare Streamlit app, side by side.

Run: ``python -m benchmarks.bench_browser [--presses 12] [--cases explore-threshold,explore-kmeans,compare,prompt]``

The bare app is a dozen lines written by this script (:data:`BARE_APP`): one
slider thresholds the 600 x 400 coffee photo and ``st.image`` shows the
overlay and the original. It and ``streamlit run app.py`` are started side
by side with the same configuration (``.streamlit/config.toml``), and one
headless Chromium drives both.

Each move is one key press on a focused slider, always in the same direction,
so every move asks for a value neither app has computed before. Presses
alternate between the two apps (bare, app, bare, app...), so the machine's
noise falls on both alike. For every press the page itself measures, with
``performance.now()``, the time from the keydown to the first animation
frame in which the watched picture shows a new, decoded image: an ``<img>``
for ``st.image``, a plotly ``<image>`` for the Compare page's linked figure
(with ``column``, only pictures in the ``st.columns`` column whose first bold
text is that title).
The server's CPU time per move (user + system of the whole process, from
``/proc/<pid>/stat``) is read before the press and again once the run is
over (the app's script-run state back to "notRunning", :data:`IDLE`); the table gives its mean
over the presses (the kernel counts CPU in 10 ms clock ticks: a median of single moves would be
one of a few tick counts). The browser's CPU time per move is read the same way over all of
Chromium's processes (:func:`browser_cpu_seconds`), from the press to :data:`SETTLE_MS` after the
run's end: what one student's page costs the machine it runs on, a cost that, unlike a round trip,
does not depend on how busy the machine is (on this machine the browsers share the server's cores).

Cases (the bare threshold app is the baseline of each):

- ``explore-threshold``: Explore, global threshold slider, the overlay;
- ``explore-kmeans``: Explore, k-means' k (``n_clusters``) slider, the overlay;
- ``compare``: Compare with four panels (Otsu, adaptive threshold, k-means,
  mean shift), k-means' k slider in panel 3, panel 3's picture;
- ``bare+N`` (e.g. ``bare+40``): the bare app with N captions below its
  pictures, on a server of its own: what the size of a page alone costs
  (Streamlit's frontend re-renders every element of the page several times
  a rerun);
- ``fragment+N``: the bare app's slider and pictures in an ``st.fragment``
  with N captions outside it, which a move does not send again: what the
  elements a move leaves alone cost;
- ``prompt``: the Prompt page with its default methods (SAM 2.1 tiny first,
  then the classical ones), on a server of its own whose
  ``$SEGDASH_SAM2_WEIGHTS`` names a SAM 2.1 tiny network with RANDOM weights
  saved by this script (no download; the timings do not depend on the
  weight values). Here a move is a click on the picture (the
  ``streamlit_image_coordinates`` canvas, in an iframe), timed from its
  pointerdown to the first frame showing SAM 2.1's result panel with a new
  picture. Two rows: the first click on each of ``--presses`` samples
  (a picture not embedded yet: the image encoder runs), and
  :data:`FURTHER_CLICKS` further clicks on each, at new positions (each
  refines the previous mask). One picture with two clicks is done first,
  untimed: the model loads then.

Prints a Markdown table of medians and p95s and the ratios against the bare app.
Nothing passes or fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .harness import free_port, percentile

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WAIT_MS = 120_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

BARE_APP = '''\
import numpy as np
import streamlit as st
from seglib.samples import load_sample

image = st.cache_resource(load_sample)("coffee")  # 600 x 400 RGB
threshold = st.slider("Threshold", 0.0, 1.0, 0.5, step=0.005)
mask = image.mean(axis=2) / 255 > threshold
overlay = image.copy()
overlay[mask] = (0.4 * image[mask] + 0.6 * np.array([255, 200, 0])).astype(np.uint8)
left, right = st.columns(2)
left.image(overlay, caption="Overlay")
right.image(image, caption="Original")
'''

# Resolves with the ms from the last keydown (or click in a frame) to the first frame showing a new, decoded
# picture: the index-th of those matching selector (and, with column, in the column titled so in bold).
WATCH_JS = """([selector, index, column]) => { window.__repaint = new Promise((resolve, reject) => {
    const titled = el => {
        const box = el.closest('[data-testid="stColumn"]');
        const title = box && box.querySelector('strong');
        return !column || (title !== null && title.textContent === column);
    };
    const pick = () => [...document.querySelectorAll(selector)].filter(titled)[index];
    const source = el => el ? (el.getAttribute('src') || el.getAttribute('href') || '') : '';
    const before = source(pick());
    const limit = performance.now() + %d;
    const ready = el => el.tagName.toLowerCase() !== 'img' || (el.complete && el.naturalWidth > 0);
    const tick = () => {
        const el = pick();
        if (el && source(el) !== before && ready(el)) {
            resolve(performance.now() - window.__keydown);
        } else if (performance.now() > limit) {
            reject(new Error('no repaint of ' + selector + '[' + index + ']'));
        } else {
            requestAnimationFrame(tick);
        }
    };
    window.__armed = tick;
}); }""" % WAIT_MS

ARM_JS = """() => {
    if (!window.__listening) {
        window.__input = () => {
            window.__keydown = performance.now();
            if (window.__armed) { const go = window.__armed; window.__armed = null; requestAnimationFrame(go); }
        };
        document.addEventListener('keydown', window.__input, true);
        window.__listening = true;
    }
}"""

# In a component's iframe (same origin as the page): a pointerdown starts the page's clock, as a keydown does.
FRAME_ARM_JS = """() => {
    if (!window.__listening) {
        document.addEventListener('pointerdown', () => window.parent.__input(), true);
        window.__listening = true;
    }
}"""


def start_server(script: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """``streamlit run script`` from the repository root (its config, seglib importable); process and URL.

    ``env``: variables set for the server on top of this process's environment (a value of None removes one).
    """
    port = free_port()
    env = {key: value for key, value in {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}.items()
           if value is not None}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port), "--server.headless",
         "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit run {script} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise TimeoutError(f"streamlit run {script} did not answer within 90 s")


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)


def browser_cpu_seconds() -> float:
    """User + system CPU seconds so far of the Chromium Playwright started (the one process with
    ``--remote-debugging-pipe``) and all its processes: GPU, network, renderers of every page."""
    total = 0.0
    for process in psutil.process_iter(["cmdline"]):
        if "--remote-debugging-pipe" in (process.info["cmdline"] or ()):
            for member in (process, *process.children(recursive=True)):
                with contextlib.suppress(psutil.Error):
                    total += sum(member.cpu_times()[:2])
    return total


SETTLE_MS = 500
"""After a run ends, the browser still draws (plotly charts, after the watched picture): its CPU time
per move is read this long after the end of the run, and the next press waits for it."""

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
"""The app when no script run is going on (the attribute Streamlit's own end-to-end tests wait on; the status
widget is no sign: it appears only after half a second of running, and not at all in this app's minimal
toolbar)."""


def wait_idle(page) -> None:
    page.wait_for_timeout(150)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)


@dataclass
class Target:
    """A slider on a page of one server, and the picture that repaints when it moves."""

    name: str
    page: object
    pid: int
    slider: object
    picture: str  # CSS selector of the watched pictures
    index: int = 0  # which of them
    column: str | None = None  # only those in the column of this bold title
    key: str = "ArrowRight"
    ms: list = field(default_factory=list)
    cpu_ms: list = field(default_factory=list)
    browser_ms: list = field(default_factory=list)

    def _key(self) -> str:
        # Turn round at either end of the slider (the values met again there may be cached).
        value = float(self.slider.input_value())
        low, high = (float(self.slider.get_attribute(a)) for a in ("min", "max"))
        if (self.key == "ArrowRight" and value >= high) or (self.key == "ArrowLeft" and value <= low):
            self.key = "ArrowLeft" if self.key == "ArrowRight" else "ArrowRight"
        return self.key

    def reset(self) -> None:
        """Forget the times so far."""
        self.ms, self.cpu_ms, self.browser_ms = [], [], []

    def _prepare(self) -> None:
        self.slider.focus()

    def _act(self) -> None:
        self.page.keyboard.press(self._key())

    def move(self) -> None:
        """One key press (or click); records the repaint time and the server's CPU time."""
        page = self.page
        self._prepare()
        page.evaluate(ARM_JS)
        before, browser_before = cpu_seconds(self.pid), browser_cpu_seconds()
        page.evaluate(WATCH_JS, [self.picture, self.index, self.column])
        self._act()
        self.ms.append(float(page.evaluate("() => window.__repaint")))
        wait_idle(page)
        self.cpu_ms.append((cpu_seconds(self.pid) - before) * 1000)
        page.wait_for_timeout(SETTLE_MS)
        self.browser_ms.append((browser_cpu_seconds() - browser_before) * 1000)


def main_slider(page, label: str):
    """The first slider of the main area labelled exactly ``label`` (a sync or async Playwright page).

    Exactly: Playwright's ``has_text`` ignores case and matches part of a text, so "K" (sauvola) would
    find "Working size" or "Mask" first.
    """
    exact = page.locator('[data-testid="stWidgetLabel"]').get_by_text(label, exact=True)
    return page.locator('[data-testid="stMain"] [data-testid="stSlider"]').filter(has=exact).first.get_by_role("slider")


def open_bare(browser, url: str, pid: int) -> Target:
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(url)
    page.wait_for_selector('[data-testid="stImage"] img', timeout=WAIT_MS)
    wait_idle(page)
    return Target("bare app, threshold", page, pid, main_slider(page, "Threshold"), '[data-testid="stMain"] img')


def open_explore(browser, url: str, pid: int, method: str, label: str, name: str) -> Target:
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"{url}/?method={method}&sample=coffee")
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stImage"] img', timeout=WAIT_MS)
    wait_idle(page)
    return Target(name, page, pid, main_slider(page, label), '[data-testid="stMain"] [data-testid="stImage"] img')


def open_page(browser, url: str, sample: str, title: str):
    """A new browser page on the app's page ``title``, showing ``sample``."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"{url}/?sample={sample}")  # the entry page first: it picks the photo
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stImage"] img', timeout=WAIT_MS)
    wait_idle(page)
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).click()
    page.get_by_role("heading", name=title).wait_for(timeout=WAIT_MS)
    return page


def open_compare(browser, url: str, pid: int) -> Target:
    page = open_page(browser, url, "coffee", "Compare")
    page.get_by_role("button", name="Thresholds vs clustering").click()
    page.wait_for_selector(".js-plotly-plot image", timeout=WAIT_MS)
    wait_idle(page)
    page.locator('[data-testid="stExpander"]').filter(has_text="Parameters").nth(2).locator("summary").click()
    wait_idle(page)
    slider = main_slider(page, "N clusters")
    return Target("Compare, panel 3 k-means k", page, pid, slider, ".js-plotly-plot .imagelayer image", index=2)


CANVAS_FRAME = 'iframe[title="streamlit_image_coordinates.streamlit_image_coordinates"]'
CLICKS = ((0.5, 0.5), (0.42, 0.44), (0.58, 0.56), (0.45, 0.62), (0.57, 0.38))
"""Where the clicks on one picture go, in turn, as fractions of its displayed width and height."""
FURTHER_CLICKS = 3
"""Clicks after the first on each picture of the ``prompt`` case."""
PROMPT_SAMPLES = ("coffee", "chelsea", "astronaut", "rocket", "camera", "coins", "retina", "ihc", "hubble", "moon",
                  "cell", "page", "text", "horse")
"""The pictures of the ``prompt`` case's first clicks, in order (one per press)."""
PROMPT_WARMUP_SAMPLE = "microaneurysms"
"""The picture clicked twice, untimed, before them (the model loads)."""


@dataclass
class CanvasTarget(Target):
    """Clicks on the Prompt page's picture (each at the next of :data:`CLICKS`) and the result that repaints."""

    clicks: int = 0

    def _canvas(self):
        return self.page.frame_locator(CANVAS_FRAME).locator("img")

    def _prepare(self) -> None:
        self._canvas().evaluate(FRAME_ARM_JS)

    def _act(self) -> None:
        canvas = self._canvas()
        box = canvas.bounding_box()
        x, y = CLICKS[self.clicks % len(CLICKS)]
        self.clicks += 1
        canvas.click(position={"x": x * box["width"], "y": y * box["height"]})


def open_prompt(browser, url: str, pid: int, sample: str) -> CanvasTarget:
    """The Prompt page on ``sample`` with its default methods; watches SAM 2.1's result panel."""
    import seglib

    page = open_page(browser, url, sample, "Prompt")
    page.frame_locator(CANVAS_FRAME).locator("img").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    return CanvasTarget(f"Prompt, {sample}", page, pid, None, '[data-testid="stMain"] [data-testid="stImage"] img',
                        column=seglib.method("sam2").title)


@dataclass
class Times:
    """Repaint and server CPU times of some moves, gathered from targets."""

    ms: list = field(default_factory=list)
    cpu_ms: list = field(default_factory=list)
    browser_ms: list = field(default_factory=list)

    def take(self, target: Target) -> None:
        """Move ``target``'s times here (the target starts afresh)."""
        self.ms += target.ms
        self.cpu_ms += target.cpu_ms
        self.browser_ms += target.browser_ms
        target.reset()


def alternate(bare: Target, target: Target, times: int) -> None:
    """``times`` moves of each, the bare app first."""
    for _ in range(times):
        for side in (bare, target):
            side.move()


def prompt_rows(browser, bare: Target, url: str, pid: int, presses: int) -> list[dict]:
    """First clicks on ``presses`` new pictures and :data:`FURTHER_CLICKS` further clicks on each."""
    warm = open_prompt(browser, url, pid, PROMPT_WARMUP_SAMPLE)
    alternate(bare, warm, 2)  # untimed: the model loads
    warm.page.close()
    first, further, bare_first, bare_further = Times(), Times(), Times(), Times()
    bare.reset()
    for sample in PROMPT_SAMPLES[:presses]:
        target = open_prompt(browser, url, pid, sample)
        alternate(bare, target, 1)
        first.take(target)
        bare_first.take(bare)
        alternate(bare, target, FURTHER_CLICKS)
        further.take(target)
        bare_further.take(bare)
        target.page.close()
    return [_row("Prompt, SAM 2.1 tiny: first click on a new picture", first, bare_first),
            _row("Prompt, SAM 2.1 tiny: a further click (refines)", further, bare_further)]


def padded_bare_app(captions: int, fragment: bool = False) -> str:
    """:data:`BARE_APP` with ``captions`` one-line captions below its pictures.

    With ``fragment``, the slider and the pictures are an ``st.fragment`` and the captions lie outside it:
    a move reruns the fragment only, and the captions are not sent again.
    """
    padding = f"for i in range({int(captions)}):\n    st.caption(f'Caption {{i}} of a longer page.')\n"
    if not fragment:
        return BARE_APP + padding
    head, body = BARE_APP.split("threshold = ", 1)
    body = "".join(f"    {line}\n" for line in ("threshold = " + body).splitlines())
    return f"{head}@st.fragment\ndef view():\n{body}\n\nview()\n{padding}"


def run(presses: int, cases: list[str], warmup: int = 2) -> list[dict]:
    from playwright.sync_api import sync_playwright

    rows, extra = [], []
    with tempfile.TemporaryDirectory() as folder:
        bare_script = Path(folder) / "bare_app.py"
        bare_script.write_text(BARE_APP)
        bare_process, bare_url = start_server(bare_script)
        app_process, app_url = start_server(ROOT / "app.py")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                openers = {
                    "explore-threshold": lambda: open_explore(browser, app_url, app_process.pid, "global-threshold",
                                                              "Threshold", "Explore, global threshold"),
                    "explore-kmeans": lambda: open_explore(browser, app_url, app_process.pid, "kmeans&p.n_clusters=2",
                                                           "N clusters", "Explore, k-means k"),
                    "compare": lambda: open_compare(browser, app_url, app_process.pid),
                }
                bare = open_bare(browser, bare_url, bare_process.pid)
                for case in cases:
                    bare.reset()
                    if case == "prompt":
                        process, url = start_prompt_server(folder)
                        extra.append(process)
                        rows += prompt_rows(browser, bare, url, process.pid, presses)
                        for row in rows[-2:]:
                            print(f"{case}: {row}", flush=True)
                        continue
                    if case.startswith(PADDED):
                        kind, captions = case.split("+")
                        script = Path(folder) / f"{kind}_{captions}.py"
                        script.write_text(padded_bare_app(int(captions), fragment=kind == "fragment"))
                        process, url = start_server(script)
                        extra.append(process)
                        target = open_bare(browser, url, process.pid)
                        target.name = (f"bare app + {captions} captions" if kind == "bare" else
                                       f"bare app in a fragment + {captions} captions outside it")
                    else:
                        target = openers[case]()
                    alternate(bare, target, warmup)
                    bare.reset()
                    target.reset()
                    alternate(bare, target, presses)
                    rows.append(_row(target.name, target, bare))
                    print(f"{case}: {rows[-1]}", flush=True)
                    target.page.close()
                browser.close()
        finally:
            for process in (app_process, bare_process, *extra):
                stop_server(process)
    return rows


def start_prompt_server(folder: str) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` with ``$SEGDASH_SAM2_WEIGHTS`` naming SAM 2.1 tiny with random weights saved
    in ``folder`` (and no embeddings on disk)."""
    from seglib.deep.sam import EMBEDDING_DIR_ENV, sam2_model

    from .bench_interactive import random_sam2_weights

    print("Building SAM 2.1 tiny with RANDOM weights (timings do not depend on the weight values)...", flush=True)
    weights = random_sam2_weights(folder)
    return start_server(ROOT / "app.py", env={sam2_model.WEIGHTS_ENV: str(weights), EMBEDDING_DIR_ENV: None})


def _row(name: str, target: Target | Times, bare: Target | Times) -> dict:
    median, base = statistics.median(target.ms), statistics.median(bare.ms)
    # Means: /proc counts CPU in clock ticks (10 ms), too coarse for a median of single moves.
    cpu, base_cpu = statistics.fmean(target.cpu_ms), statistics.fmean(bare.cpu_ms)
    return {"move -> repaint": name, "median ms": median, "p95 ms": percentile(target.ms, 95),
            "bare median ms": base, "bare p95 ms": percentile(bare.ms, 95), "repaint ratio": median / base,
            "server CPU ms/move": cpu, "bare CPU ms/move": base_cpu, "CPU ratio": cpu / base_cpu if base_cpu else None,
            "browser CPU ms/move": statistics.fmean(target.browser_ms),
            "bare browser CPU ms/move": statistics.fmean(bare.browser_ms),
            "browser CPU ratio": statistics.fmean(target.browser_ms) / max(statistics.fmean(bare.browser_ms), 1e-9)}


CASES = ("explore-threshold", "explore-kmeans", "compare", "prompt")
"""The cases by name; ``bare+N`` and ``fragment+N`` (N captions) besides."""
PADDED = ("bare+", "fragment+")


def parse_cases(text: str, presses: int) -> list[str]:
    """``--cases`` as a list; raises ValueError naming a case that does not exist or cannot run ``presses``."""
    cases = [case.strip() for case in text.split(",") if case.strip()]
    for case in cases:
        if case.startswith(PADDED) and case.split("+", 1)[1].isdigit():
            continue
        if case not in CASES:
            raise ValueError(f"--cases: {case!r} is not a case; allowed: {', '.join(CASES)}, bare+N or fragment+N (N a "
                             "whole number of captions)")
        if case == "prompt" and not 1 <= presses <= len(PROMPT_SAMPLES):
            raise ValueError(f"--presses={presses} with the prompt case: one new picture a press, so from 1 to "
                             f"{len(PROMPT_SAMPLES)}")
    return cases


def main(argv: list[str] | None = None) -> None:
    from .harness import table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presses", type=int, default=12,
                        help="measured key presses per case and app (prompt: first clicks, each on a new picture)")
    parser.add_argument("--cases", default="explore-threshold,explore-kmeans,compare",
                        help="comma-separated: explore-threshold, explore-kmeans, compare, prompt (SAM 2.1 clicks "
                             "on the Prompt page), bare+N (the bare app with N captions), fragment+N (the bare app's "
                             "slider and pictures in a fragment, N captions outside it)")
    args = parser.parse_args(argv)
    try:
        cases = parse_cases(args.cases, args.presses)
    except ValueError as error:
        parser.error(str(error))
    rows = run(args.presses, cases)
    print(f"\n{args.presses} presses per case, medians and p95, this app and the bare app alternating; "
          f"{os.cpu_count()} CPUs; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
