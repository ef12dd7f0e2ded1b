"""A class on one server: many sessions moving sliders while others run heavy methods.

Two parts, each against a fresh ``streamlit run app.py`` on a loopback port (the protocol
part with ``--replicas N``: N of them behind nginx, started by ``deploy/launch.py``, the
deployment recipe for a class; CPU and RSS then cover the whole process tree):

``protocol`` (default 30 sessions)
    Sessions speak Streamlit's websocket protocol (:mod:`benchmarks.streamlit_client`,
    no browser each). Each opens Explore on its own (picture, method) pair and moves a
    method slider every ``--period`` seconds, waiting for the repaint (the run's
    ``script_finished`` and its images; a move the app sent to the heavy-job pool
    repaints when its result shows, after the "N ahead of you" line: those moves
    are counted too); ``--heavy`` more sessions keep running
    felzenszwalb on the two largest samples, a new ``scale`` as soon as the last result
    arrived (these go through the heavy-job pool). Reports the repaint p50/p95/max,
    the server's CPU (cores busy) and RSS, and after everyone disconnects, the RSS a
    minute later against the idle level before the class.

``browser`` (default 8 pages)
    Real Chromium pages (Playwright), each in a Chromium of its own as in a classroom,
    press a slider's arrow key and wait for the repaint, alone first and then all at once
    (once every page has drawn its charts) while one more page runs felzenszwalb on a big
    picture again and again. Reports p50/p95 of each and the ratio, plus any exception shown. Then the same class on the bare app (:data:`BARE_APP`, its
    students beside the same felzenszwalb page): the browsers share the server's two cores
    here, so this baseline says how much of the slowdown the machine itself makes.

``capacity``
    What the protocol class asks of the server: each of its students moves its slider alone, one
    move at a time; server CPU per move by method, against the bare app's in the same run, and the
    cores the whole class asks for (more than one process can use means moves queue).

``python -m benchmarks.bench_classroom [protocol|browser|both|capacity] [--sessions 30] [--duration 60] [--replicas 1]``
prints Markdown tables. The runs are bounded in time (``--duration`` of load) and in
count; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from benchmarks.bench_browser import BARE_APP, CHROMIUM, CHROMIUM_ARGS, IDLE, main_slider, start_server, stop_server
from benchmarks.harness import free_port, percentile, table
from benchmarks.streamlit_client import Session
from ui.sessions import CHECK_EVERY_S, release_after

ROOT = Path(__file__).resolve().parents[1]

# (method, slider key, values to walk through): cheap methods with a slider students move
CHEAP = [
    ("global-threshold", "threshold", None), ("kmeans", "n_clusters", None), ("canny", "sigma", None),
    ("multi-otsu", "classes", None), ("adaptive-threshold", "offset", None), ("sauvola", "k", None),
    ("sobel", "threshold", None), ("log", "sigma", None), ("region-growing", "tolerance", None),
    ("fuzzy-cmeans", "m", None),
]
SAMPLES = ["coins", "camera", "astronaut", "coffee", "chelsea", "rocket", "horse", "page", "text", "cell",
           "ihc", "moon", "microaneurysms", "hubble", "retina"]
HEAVY = [("felzenszwalb", "scale", "retina"), ("felzenszwalb", "scale", "hubble")]


# ----------------------------------------------------------------------------- the server


class Server:
    """The app on a free loopback port, with CPU and memory read from /proc (psutil).

    ``replicas=1``: one ``streamlit run app.py``; more: ``deploy/launch.py`` (that many
    Streamlit processes behind nginx with sticky sessions), measured as one process tree.
    """

    def __init__(self, extra: tuple[str, ...] = (), env: dict | None = None, replicas: int = 1):
        env = {"MALLOC_ARENA_MAX": "2", **(env or {})}  # as the README's deployment profile
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if replicas == 1:
            command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
                       "--server.address", "127.0.0.1", "--server.headless", "true", *extra]
        else:
            command = [sys.executable, "deploy/launch.py", "--replicas", str(replicas),
                       "--listen", f"127.0.0.1:{self.port}", "--first-port", str(free_port())]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True, env={**os.environ, **env})
        self.proc = psutil.Process(self.process.pid)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"streamlit did not answer at {self.url}")

    def _tree(self) -> list[psutil.Process]:
        return [self.proc, *self.proc.children(recursive=True)]

    def _summed(self, measure) -> float:
        """``measure(process)`` added up over the process tree (a process that just ended counts 0)."""
        total = 0
        for process in self._tree():
            try:
                total += measure(process)
            except psutil.Error:
                pass
        return total

    def cpu_seconds(self) -> float:
        """CPU seconds of the whole process tree (replicas and nginx too), finished children included."""
        times = self.proc.cpu_times()
        return (self._summed(lambda process: sum(process.cpu_times()[:2]))
                + times.children_user + times.children_system)

    def rss(self) -> int:
        return self._summed(lambda process: process.memory_info().rss)

    def pss(self) -> int:
        """The tree's proportional resident memory: a page that k of its processes share (the libraries
        every Python maps, a child's inherited pages) counts 1/k in each, so the sum counts it once,
        where :meth:`rss` counts it once per process."""
        return self._summed(lambda process: process.memory_full_info().pss)

    def anonymous(self) -> int:
        """Bytes of the tree's resident memory that are not file pages (heaps and anonymous maps: what
        the server allocated, not the code and libraries it mapped)."""
        return self._summed(lambda process: sum(m.rss for m in process.memory_maps() if not m.path.startswith("/")))

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


class MemoryWatch:
    """Samples the server's RSS and PSS twice a second in a thread; ``peak`` and ``peak_pss`` since the
    last ``reset``."""

    def __init__(self, server: Server):
        self.server, self.peak, self.peak_pss, self._stop = server, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.5):
            try:
                self.peak = max(self.peak, self.server.rss())
                self.peak_pss = max(self.peak_pss, self.server.pss())
            except psutil.Error:
                return

    def reset(self):
        self.peak, self.peak_pss = self.server.rss(), self.server.pss()

    def close(self):
        self._stop.set()


def steps_of(slider, count: int = 12) -> list[float]:
    """``count`` values across a slider's range (its own steps), in a shuffled but fixed order."""
    n = max(1, round((slider.high - slider.low) / slider.step))
    values = sorted({slider.low + slider.step * round(i * n / (count - 1)) for i in range(count)})
    random.Random(slider.id).shuffle(values)
    return [v for v in values if v != slider.value] or values


# ----------------------------------------------------------------------------- protocol-level class


def class_pairs(n: int) -> list[tuple[str, str, str]]:
    """The (method, slider key, sample) of the class's ``n`` students: every cheap method on every
    sample, shuffled once (seed 0), so the protocol and capacity parts see the same students."""
    pairs = [(m, k, s) for s in SAMPLES for (m, k, _) in CHEAP]
    random.Random(0).shuffle(pairs)
    return pairs[:n]


def named_students(spec: str) -> list[tuple[str, str, str]]:
    """``"method:sample,method:sample"`` as (method, slider key, sample) students; each moves the slider
    the class moves for that method (:data:`CHEAP`)."""
    keys = {method: key for method, key, _ in CHEAP}
    students = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        method, _, sample = item.partition(":")
        if method not in keys or sample not in SAMPLES:
            raise ValueError(f"--students item {item!r} is not allowed: expected method:sample with a method "
                             f"among {sorted(keys)} and a sample among {SAMPLES}")
        students.append((method, keys[method], sample))
    return students


async def student(url: str, method: str, key: str, sample: str, *, period: float, until: float,
                  delay: float, out: dict) -> None:
    session = Session(url, f"method={method}&sample={sample}")
    await asyncio.sleep(delay)
    opened = await session.open(timeout=300)
    out["exceptions"] += opened.exceptions
    slider = session.slider(f"param.{method}.{key}")
    if slider is None:
        out["missing"].append(f"{method}.{key}")
        await session.close()
        return
    values = steps_of(slider)
    i = 0
    await asyncio.sleep(max(0.0, out["start"] - time.perf_counter()) + random.Random(sample).uniform(0, period))
    while time.perf_counter() < until:
        tick = time.perf_counter()
        report = await session.move(slider, values[i % len(values)], timeout=300)
        i += 1
        out["exceptions"] += report.exceptions
        if _waiting(report):  # sent to the heavy-job pool: the repaint is when its result shows
            out["pooled"] += 1
            while _waiting(report):
                report = await session.next_run(timeout=600)
                out["exceptions"] += report.exceptions
        out["repaints"].append(time.perf_counter() - tick)
        out["by_method"].setdefault(method, []).append(out["repaints"][-1])
        await asyncio.sleep(max(0.0, period - (time.perf_counter() - tick)))
    out["sessions"].append(session)


def _waiting(report) -> bool:
    """Whether a run showed a place in the heavy-job line instead of a result."""
    return any("ahead of you" in text for text in report.texts)


async def heavy_student(url: str, method: str, key: str, sample: str, *, until: float, delay: float,
                        out: dict) -> None:
    session = Session(url, f"method={method}&sample={sample}")
    await asyncio.sleep(delay)
    opened = await session.open(timeout=600)
    out["exceptions"] += opened.exceptions
    slider = session.slider(f"param.{method}.{key}")
    values = steps_of(slider, 40)
    i = 0
    await asyncio.sleep(max(0.0, out["start"] - time.perf_counter()))
    while time.perf_counter() < until and slider is not None:
        report = await session.move(slider, values[i % len(values)], timeout=600)
        i += 1
        out["exceptions"] += report.exceptions
        waiting = _waiting(report)
        out["heavy_waits" if waiting else "heavy_runs"] += 1
        while waiting and time.perf_counter() < until:  # its waiting line refreshes itself; wait for the result
            report = await session.rerun(timeout=600)   # (a page that waits redraws when the job starts)
            waiting = _waiting(report)
            if waiting:
                await asyncio.sleep(1.0)
    out["sessions"].append(session)


def protocol_class(n: int = 30, period: float = 3.0, duration: float = 60.0, heavy: int = 2,
                   settle: float = 60.0, replicas: int = 1) -> list[dict]:
    server = Server(replicas=replicas)
    watch = MemoryWatch(server)
    try:
        out = asyncio.run(_protocol(server, watch, n, period, duration, heavy, settle, replicas))
    finally:
        watch.close()
        server.stop()
    return out


async def _alone(url: str, repeats: int = 12) -> list[float]:
    session = Session(url, "method=global-threshold&sample=coffee")
    await session.open(timeout=300)
    slider = session.slider("param.global-threshold.threshold")
    times = [(await session.move(slider, v)).seconds for v in steps_of(slider, repeats)]
    await session.close()
    return times


async def _warm_up(url: str, replicas: int = 1) -> None:
    """Open every method and every sample of the class once per replica (imports, first runs), then leave.

    Behind the proxy a new session lands on a random replica: a few more rounds make it likely
    that each one was warmed.
    """
    pages = [(method, "coins") for method, _, _ in [*CHEAP, *HEAVY]] + [("global-threshold", s) for s in SAMPLES]
    for _ in range(1 if replicas == 1 else 2 * replicas):
        for method, sample in pages:
            session = Session(url, f"method={method}&sample={sample}")
            await session.open(timeout=300)
            await session.close()


async def _protocol(server, watch, n, period, duration, heavy, settle, replicas=1) -> list[dict]:
    await _warm_up(server.url, replicas)
    alone = await _alone(server.url)
    await asyncio.sleep(release_after() + 2 * CHECK_EVERY_S)  # the warm-up session released: the idle server
    idle, idle_anonymous = server.rss(), server.anonymous()
    pairs = class_pairs(n)
    out = {"repaints": [], "by_method": {}, "exceptions": [], "missing": [], "sessions": [], "heavy_runs": 0,
           "heavy_waits": 0, "pooled": 0}
    connect_gap = 0.5
    out["start"] = time.perf_counter() + connect_gap * (n + heavy) + 20
    until = out["start"] + duration
    tasks = [student(server.url, m, k, s, period=period, until=until, delay=i * connect_gap, out=out)
             for i, (m, k, s) in enumerate(pairs)]
    tasks += [heavy_student(server.url, m, k, s, until=until, delay=(n + j) * connect_gap, out=out)
              for j, (m, k, s) in enumerate(HEAVY[:heavy])]
    cpu_before = None

    async def measure_cpu():
        nonlocal cpu_before
        await asyncio.sleep(max(0.0, out["start"] - time.perf_counter()))
        watch.reset()
        cpu_before = (server.cpu_seconds(), time.perf_counter(), time.process_time())

    await asyncio.gather(measure_cpu(), *tasks)
    cpu_s, wall = server.cpu_seconds() - cpu_before[0], time.perf_counter() - cpu_before[1]
    client_s = time.process_time() - cpu_before[2]  # this load generator shares the machine's cores
    peak, peak_pss = watch.peak, watch.peak_pss
    for session in out["sessions"]:
        await session.close()
    await asyncio.sleep(settle)
    after, after_anonymous = server.rss(), server.anonymous()
    r = out["repaints"]
    rows = [{
        "sessions": f"{n} + {heavy} heavy", "replicas": replicas, "period s": period, "moves": len(r),
        "p50 ms": 1000 * statistics.median(r) if r else None, "p95 ms": 1000 * percentile(r, 95) if r else None,
        "max ms": 1000 * max(r) if r else None, "alone p50 ms": 1000 * statistics.median(alone),
        "server CPU (cores)": cpu_s / wall, "load generator CPU (cores)": client_s / wall,
        "server CPU per move ms": 1000 * cpu_s / max(1, len(r) + out["heavy_runs"]),
        "moves through the pool": out["pooled"], "heavy results": out["heavy_runs"],
        "exceptions": len(out["exceptions"]),
        "machine load (1 min)": os.getloadavg()[0],
    }, {
        "RSS idle MB": idle / 2**20, "RSS peak MB": peak / 2**20, "PSS peak MB": peak_pss / 2**20,
        f"RSS {settle:.0f} s after disconnect MB": after / 2**20, "after / idle": after / idle,
        "anonymous idle MB": idle_anonymous / 2**20, "anonymous after MB": after_anonymous / 2**20,
    }]
    rows += [{"method": method, "moves": len(times), "p50 ms": 1000 * statistics.median(times),
              "p95 ms": 1000 * percentile(times, 95), "max ms": 1000 * max(times)}
             for method, times in sorted(out["by_method"].items(), key=lambda item: -percentile(item[1], 95))]
    for text in sorted(set(out["exceptions"]))[:5]:
        print("exception:", text)
    if out["missing"]:
        print("sliders not found:", out["missing"])
    return rows


# ----------------------------------------------------------------------------- capacity


def capacity(n: int = 30, period: float = 3.0, moves: int = 4,
             students: list[tuple[str, str, str]] | None = None) -> list[dict]:
    """What the class asks of the server, measured one move at a time with nothing else running.

    Each of the class's ``n`` students (:func:`class_pairs`), or each of ``students`` (see
    :func:`named_students`: a few students with many moves each resolve smaller changes than the
    class's 30 with 4), opens Explore, moves its slider once untimed and then ``moves`` times; the
    server's CPU per move is averaged per method. The last row adds them up: the cores those
    students moving every ``period`` seconds ask for. One process's moves got 1.5 cores at most, about
    one beside the heavy students (its script runs share one interpreter lock); a class that asks more queues its
    moves, and its p95 grows with the length of the minute. The bare app
    (:data:`benchmarks.bench_browser.BARE_APP`) is moved in the same run: Streamlit's own cost.
    """
    with tempfile.TemporaryDirectory() as folder:
        bare_script = Path(folder) / "bare.py"
        bare_script.write_text(BARE_APP)
        bare, bare_url = start_server(bare_script)
        server = Server()
        try:
            everyone = "the class" if students is None else f"these {len(students)} students"
            return asyncio.run(_capacity(server, bare_url, psutil.Process(bare.pid), students or class_pairs(n),
                                         period, moves, everyone))
        finally:
            server.stop()
            stop_server(bare)


async def _moved(session: Session, slider, values: list, cpu_seconds) -> float:
    """Server CPU seconds per move over ``values`` (each a move waited for)."""
    before = cpu_seconds()
    for value in values:
        await session.move(slider, value, timeout=300)
    return (cpu_seconds() - before) / len(values)


async def _capacity(server, bare_url: str, bare: psutil.Process, pairs: list[tuple[str, str, str]], period: float,
                    moves: int, everyone: str) -> list[dict]:
    await _warm_up(server.url)
    session = Session(bare_url, "")
    await session.open(timeout=300)
    slider = next(iter(session.sliders.values()))
    values = steps_of(slider, 14)
    await session.move(slider, values[0])
    bare_ms = 1000 * await _moved(session, slider, values[1:13], lambda: sum(bare.cpu_times()[:2]))
    await session.close()
    per_method: dict[str, list[float]] = {}
    for method, key, sample in pairs:
        session = Session(server.url, f"method={method}&sample={sample}")
        await session.open(timeout=300)
        slider = session.slider(f"param.{method}.{key}")
        values = steps_of(slider, moves + 2)[: moves + 1]  # a slider with few steps (multi-otsu) gives fewer
        await session.move(slider, values[0], timeout=300)
        per_method.setdefault(method, []).append(1000 * await _moved(session, slider, values[1:], server.cpu_seconds))
        await session.close()
    def row(label: str, costs: list[float]) -> dict:
        return {"method": label, "students": len(costs), "server CPU ms/move": statistics.mean(costs),
                "ratio to bare": statistics.mean(costs) / bare_ms, "cores asked": sum(costs) / 1000 / period}

    rows = [row(method, costs) for method, costs in sorted(per_method.items(), key=lambda item: -sum(item[1]))]
    rows.append(row(f"{everyone} (a move every {period:g} s each)", [c for costs in per_method.values() for c in costs]))
    rows.append({**row("bare app (same run)", [bare_ms]), "cores asked": None})
    return rows


# ----------------------------------------------------------------------------- browser class


def browser_class(pages: int = 8, presses: int = 12) -> list[dict]:
    """The browser class on the app, then the same class on the bare app (:data:`BARE_APP`), in one run.

    The baseline says what the machine itself allows: the browsers share the server's cores here, as
    they would not in a classroom, so a class of bare-app pages slows down too. In both classes one
    more page keeps the app's felzenszwalb busy. Each pair of rows also says how much of the machine's
    CPU the servers had.
    """
    server = Server()
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "bare_app.py"
        script.write_text(BARE_APP)
        bare, bare_url = start_server(script)

        def servers() -> float:  # CPU seconds of both servers so far
            return server.cpu_seconds() + sum(psutil.Process(bare.pid).cpu_times()[:2])

        try:
            rows = []
            plans = [(f"{server.url}/?method={m}&sample={SAMPLES[i % len(SAMPLES)]}", _slider_title(m, k))
                     for i, (m, k, _) in zip(range(pages), CHEAP * 2)]
            for name, alone, together in (
                    ("", (f"{server.url}/?method=global-threshold&sample=coffee", "Threshold"), plans),
                    ("bare app: ", (bare_url, "Threshold"), [(bare_url, "Threshold")] * pages)):
                servers_before, machine_before = servers(), psutil.cpu_times()
                pair = asyncio.run(_browser_class(server.url, alone, together, presses))
                share = (servers() - servers_before) / max(_busy(psutil.cpu_times()) - _busy(machine_before), 1e-9)
                for row in pair:
                    row["case"] = name + row["case"]
                    row["servers' share of the machine's CPU"] = share
                rows += pair
            return rows
        finally:
            stop_server(bare)
            server.stop()


def _busy(times) -> float:
    """CPU seconds the machine spent working (``psutil.cpu_times()``: all but idle and I/O wait)."""
    return times.user + times.system + times.nice + times.irq + times.softirq


async def _browser_class(app_url: str, alone: tuple[str, str], together: list[tuple[str, str]],
                         presses: int) -> list[dict]:
    """One student (a page URL and its slider's label) alone, then the ``together`` students at once beside
    a page running felzenszwalb on the app at ``app_url``; their two rows."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        first = (await _students(playwright, [alone], presses))[0]
        stop, ready = asyncio.Event(), asyncio.Event()
        heavy = asyncio.create_task(_heavy_page(playwright, app_url, stop, ready))
        # The heavy student is at work before the class starts (its failure ends the run here).
        await asyncio.wait([asyncio.create_task(ready.wait()), heavy], return_when=asyncio.FIRST_COMPLETED)
        if heavy.done():
            heavy.result()
        class_ = await _students(playwright, together, presses)
        stop.set()
        heavy_moves = await heavy
    times = [t for page in class_ for t in page["times"]]
    for page in class_:  # who makes the tail
        print(f"  {page['page']}: {len(page['times'])} moves, p50 {1000 * statistics.median(page['times'] or [0]):.0f} ms,"
              f" max {1000 * max(page['times'] or [0]):.0f} ms", flush=True)
    return [
        {"case": "one student alone", "moves": len(first["times"]),
         "p50 ms": 1000 * statistics.median(first["times"]), "p95 ms": 1000 * percentile(first["times"], 95),
         "p95 / alone": 1.0, "moves with the same picture": first["missed"], "presses at a slider's end": first["no-ops"],
         "exceptions shown": first["exceptions"]},
        {"case": f"{len(together)} students + 1 running felzenszwalb ({heavy_moves} results)", "moves": len(times),
         "p50 ms": 1000 * statistics.median(times), "p95 ms": 1000 * percentile(times, 95),
         "p95 / alone": percentile(times, 95) / percentile(first["times"], 95),
         "moves with the same picture": sum(p["missed"] for p in class_),
         "presses at a slider's end": sum(p["no-ops"] for p in class_),
         "exceptions shown": sum(p["exceptions"] for p in class_)},
    ]


@contextlib.asynccontextmanager
async def _own_browser(playwright, timeout: int = 300_000):
    """A page in a Chromium of its own, as each student in a classroom has: nobody shares a browser process,
    its GPU process (software drawing here) or its network service with the others."""
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(timeout)  # a loaded 2-core machine: fail on nothing but a real hang
        yield await context.new_page()
    finally:
        await browser.close()


async def _students(playwright, plans: list[tuple[str, str]], presses: int) -> list[dict]:
    """Each plan (a page URL, the label of the slider to move) is one page (own browser) pressing the
    slider's arrow key ``presses`` times, all at once: once every page has loaded (a class that opens the
    page together is another load; here students move sliders)."""
    everyone = asyncio.Barrier(len(plans))

    async def one(url, label):
        async with _own_browser(playwright) as page:
            await page.goto(url, timeout=300_000)
            await _drawn(page)
            slider = main_slider(page, label)
            await everyone.wait()
            out = {"page": url.rsplit("/", 1)[-1] or url, "times": [], "missed": 0, "no-ops": 0, "exceptions": 0}
            for n in range(presses):
                before = await _image_sources(page)
                await page.evaluate(WATCH_RUNS_JS)
                start = time.perf_counter()
                await slider.focus()
                await page.keyboard.press("ArrowRight" if (n // 4) % 2 == 0 else "ArrowLeft")
                changed = await _repainted(page, before)
                if changed is None:  # the slider was already at that end: nothing to time
                    out["no-ops"] += 1
                else:
                    out["times"].append(time.perf_counter() - start)
                    out["missed"] += not changed
                await asyncio.sleep(0.5)
            out["exceptions"] = await page.locator('[data-testid="stException"]').count()
        return out

    return await asyncio.gather(*(one(*plan) for plan in plans))


async def _heavy_page(playwright, url: str, stop: asyncio.Event, ready: asyncio.Event) -> int:
    """One more student moving felzenszwalb's scale on the largest sample, a new value as each result shows;
    sets ``ready`` once its page is drawn and its first move has started."""
    async with _own_browser(playwright, 600_000) as page:
        await page.goto(f"{url}/?method=felzenszwalb&sample=retina", timeout=300_000)
        await _drawn(page, 600_000)
        slider = main_slider(page, _slider_title("felzenszwalb", "scale"))
        moves = 0
        while not stop.is_set():
            await slider.focus()
            await page.keyboard.press("ArrowRight")
            ready.set()
            await _idle(page, 600_000)
            moves += 1
    return moves


def _slider_title(method: str, key: str) -> str:
    """The label of ``method``'s slider for its parameter ``key`` (as :func:`ui.params.label` writes it)."""
    from seglib import method as get_method
    from ui.params import label

    return label(next(p for p in get_method(method).params if p.name == key))


async def _image_sources(page) -> list[str]:
    return await page.locator('[data-testid="stImage"] img').evaluate_all("els => els.map(e => e.src)")


WATCH_RUNS_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.__ran = false;
    if (!window.__runs) {
        window.__runs = new MutationObserver(() => {
            if (app.getAttribute('data-test-script-state') !== 'notRunning') { window.__ran = true; }
        });
        window.__runs.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    }
}"""
"""Before a press: ``window.__ran`` turns true as soon as a run is asked for or starts, however short it is
(a poll of the script-run state can miss a run that ends between two looks)."""


async def _repainted(page, before: list[str], timeout: float = 300.0, start_within: float = 10.0) -> bool | None:
    """Wait for the move's repaint (call :data:`WATCH_RUNS_JS` before the press): the pictures change, or a
    run starts and ends; True when they changed.

    None when the press started no run within ``start_within`` seconds (a slider already at the end it
    was pushed towards: not a move).
    """
    start = time.perf_counter()
    while time.perf_counter() < start + timeout:
        ran = await page.evaluate("() => window.__ran")
        ended = ran and await page.locator(IDLE).count() > 0  # read first: then the pictures below are final
        if await _image_sources(page) != before:
            await _idle(page, 300_000)
            return True
        if ended:
            return False
        if not ran and time.perf_counter() > start + start_within:
            return None
        await asyncio.sleep(0.03)
    return False


DRAWN_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .every(chart => chart.querySelector('.main-svg') !== null)"""
"""Every plotly chart of the page drawn (plotly.js is a chunk of its own, loaded and compiled after the run)."""


async def _drawn(page, timeout: int = 300_000) -> None:
    """Wait until the page has loaded what it needs and drawn its charts, as a student would before moving a
    slider: the end of the run alone comes before the browser has fetched, compiled and drawn plotly."""
    await page.wait_for_selector('[data-testid="stMain"] [data-testid="stImage"] img', timeout=timeout)
    await _idle(page, timeout)
    await page.wait_for_load_state("networkidle", timeout=timeout)
    await page.wait_for_function(DRAWN_JS, timeout=timeout)


async def _idle(page, timeout: int = 120_000) -> None:
    """Wait until no script run is going on (see :data:`benchmarks.bench_browser.IDLE`: the status widget
    this waited for never shows in this app's minimal toolbar)."""
    await page.wait_for_timeout(150)
    await page.wait_for_selector(IDLE, timeout=timeout)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", default="both", choices=["protocol", "browser", "both", "capacity"])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--heavy", type=int, default=2)
    parser.add_argument("--period", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=60.0)
    parser.add_argument("--replicas", type=int, default=1,
                        help="protocol part: Streamlit processes behind nginx (deploy/launch.py); 1: streamlit run")
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--presses", type=int, default=12)
    parser.add_argument("--moves", type=int, default=4, help="capacity part: timed moves per student")
    parser.add_argument("--students", default="",
                        help="capacity part: these students instead of the class, as method:sample,method:sample "
                             "(e.g. fuzzy-cmeans:astronaut,canny:ihc)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a `timeout` still stops the server it started
    if args.part in ("protocol", "both"):
        rows = protocol_class(args.sessions, args.period, args.duration, args.heavy, args.settle, args.replicas)
        print(table(rows[:1]))
        print()
        print(table(rows[1:2]))
        print(table(rows[2:]))
        print()
    if args.part in ("browser", "both"):
        print(table(browser_class(args.pages, args.presses)))
    if args.part == "capacity":
        print(table(capacity(args.sessions, args.period, args.moves, named_students(args.students) or None)))


if __name__ == "__main__":
    main()
