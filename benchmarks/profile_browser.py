"""Where a slider move's time goes in Chromium: server, messages, script (plotly apart), style and layout, paint.

Run: ``python -m benchmarks.profile_browser [--case explore-threshold] [--presses 4]``

Opens the same pages as :mod:`benchmarks.bench_browser` (``--case bare`` is
its bare app) and, for each key press, records a Chromium trace (the
``devtools.timeline`` categories and V8's sampling profiler) from the
keydown to the moment the page is idle again. It reports, in milliseconds
from the keydown:

- ``repaint``: the watched picture shows the new, decoded image (as in
  :mod:`benchmarks.bench_browser`);
- ``first msg`` / ``last msg``: the renderer handles the run's first and last
  websocket message (the server's answer; late when the main thread is busy);
- ``msgs`` and ``kB``: how many messages the run sent and their size (a
  figure the browser already holds comes as a short reference);
- the renderer main thread's time until the repaint, split into ``script``
  (JavaScript: React, Streamlit, plotly), ``style+layout``, ``paint``
  (paint, layerize, commit, image decode), ``GC`` and ``other``; with
  ``--plotly``, ``plotly`` is the part of ``script`` whose call stack runs
  in plotly's bundle (V8's sampling profiler, which slows script down
  further); ``after`` is the main thread's time from the repaint until idle
  (work the user does not wait for, unless it holds up the frame).

Tracing slows the page down (roughly by half): compare cases with each
other, not with :mod:`benchmarks.bench_browser`'s times. Prints a table;
nothing passes or fails.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import tempfile
from pathlib import Path

from . import bench_browser as bb

CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink.user_timing", "v8"]
SAMPLER = "disabled-by-default-v8.cpu_profiler"  # with --plotly: slows script down a lot more
SCRIPT = {"FunctionCall", "EvaluateScript", "v8.callFunction", "v8.run", "TimerFire", "FireAnimationFrame",
          "EventDispatch", "MessagePort::Accept", "V8.Execute", "RunMicrotasks", "XHRReadyStateChange",
          "v8.compile", "V8.CompileCode", "v8.compileModule", "CompileScript"}
STYLE_LAYOUT = {"UpdateLayoutTree", "Layout", "RecalculateStyles", "ScheduleStyleRecalculation", "HitTest"}
PAINT = {"Paint", "PrePaint", "Layerize", "Commit", "UpdateLayer", "UpdateLayerTree", "CompositeLayers",
         "PaintImage", "Decode Image", "Decode LazyPixelRef", "ImageDecodeTask"}
KINDS = ("script", "style+layout", "paint", "GC", "other")


def _kind(name: str) -> str:
    if "GC" in name:
        return "GC"
    if name in SCRIPT or name.startswith(("V8.", "v8.")):
        return "script"
    if name in STYLE_LAYOUT:
        return "style+layout"
    if name in PAINT:
        return "paint"
    return "other"


def self_times(events: list[dict], start: float, end: float) -> dict[str, float]:
    """Self time (ms) of one thread's complete events clipped to ``[start, end]`` (µs), by :data:`KINDS`."""
    spans = sorted((e for e in events if e.get("ph") == "X" and "dur" in e), key=lambda e: (e["ts"], -e["dur"]))
    totals = dict.fromkeys(KINDS, 0.0)
    stack: list[list] = []  # [end, kind, start of own time still to count]

    def close_until(t: float) -> None:
        while stack and stack[-1][0] <= t:
            stop, kind, since = stack.pop()
            totals[kind] += max(0.0, min(stop, end) - max(since, start))
            if stack:
                stack[-1][2] = stop  # the parent's own time resumes here

    for event in spans:
        ts, stop = event["ts"], event["ts"] + event["dur"]
        close_until(ts)
        if stack:  # the parent's own time up to this child
            parent = stack[-1]
            totals[parent[1]] += max(0.0, min(ts, end) - max(parent[2], start))
            parent[2] = stop
        stack.append([stop, "other" if event["name"] == "RunTask" else _kind(event["name"]), ts])
    close_until(float("inf"))
    return {kind: value / 1000 for kind, value in totals.items()}


def plotly_share(events: list[dict], start: float, end: float) -> float:
    """Share of the JavaScript samples in ``[start, end]`` (µs) whose stack runs in plotly's bundle."""
    nodes: dict[int, tuple[str, int | None]] = {}
    clock = None
    plotly = other = 0
    for event in sorted(events, key=lambda e: e["ts"]):
        data = event.get("args", {}).get("data", {})
        if event.get("name") == "Profile":
            clock = data.get("startTime")
        elif event.get("name") == "ProfileChunk" and clock is not None:
            profile = data.get("cpuProfile", {})
            for node in profile.get("nodes", []):
                frame = node.get("callFrame", {})
                nodes[node["id"]] = (frame.get("url", "") or frame.get("functionName", ""), node.get("parent"))
            for sample, delta in zip(profile.get("samples", []), data.get("timeDeltas", [])):
                clock += delta
                if not start <= clock <= end or nodes.get(sample, ("",))[0] in ("(idle)", "(program)", ""):
                    continue
                node, in_plotly = sample, False
                while node is not None and node in nodes and not in_plotly:
                    in_plotly = "PlotlyChart" in nodes[node][0]
                    node = nodes[node][1]
                plotly += in_plotly
                other += not in_plotly
    return plotly / (plotly + other) if plotly + other else 0.0


SYNC_JS = "() => [performance.mark('profile-sync').startTime, window.__keydown]"


def profile_press(browser, target: bb.Target, frames: list, plotly: bool = False) -> dict:
    """One key press on ``target`` under a trace; the row of numbers described in the module docstring.

    ``frames`` collects ``(timestamp s, bytes)`` of the websocket messages the page receives (CDP).
    """
    page = target.page
    target.slider.focus()
    page.evaluate(bb.ARM_JS)
    page.evaluate(bb.WATCH_JS, [target.picture, target.index])
    browser.start_tracing(page=page, categories=CATEGORIES + ([SAMPLER] if plotly else []))
    frames.clear()
    page.keyboard.press(target._key())
    repaint = float(page.evaluate("() => window.__repaint"))
    sync_ms, keydown_ms = page.evaluate(SYNC_JS)
    bb.wait_idle(page)
    page.wait_for_timeout(300)
    events = json.loads(browser.stop_tracing())["traceEvents"]
    sync = next(e for e in events if e.get("name") == "profile-sync")
    pid, tid = sync["pid"], sync["tid"]
    keydown = sync["ts"] - (sync_ms - keydown_ms) * 1000
    shown = keydown + repaint * 1000
    main = [e for e in events if e.get("pid") == pid and e.get("tid") == tid]
    end = max(e["ts"] + e.get("dur", 0) for e in main)
    # CDP's timestamps are the trace's clock, in seconds
    messages = sorted((stamp * 1e6, size) for stamp, size in frames if stamp * 1e6 >= keydown)
    before, after = self_times(main, keydown, shown), self_times(main, shown, end)
    row = {"repaint": repaint,
           "first msg": (messages[0][0] - keydown) / 1000 if messages else None,
           "last msg": (messages[-1][0] - keydown) / 1000 if messages else None,
           "msgs": len(messages), "kB": sum(size for _, size in messages) / 1024}
    row.update({kind: before[kind] for kind in KINDS})
    if plotly:
        row["plotly"] = plotly_share([e for e in events if e.get("pid") == pid], keydown, shown) * before["script"]
    row["after"] = sum(after.values())
    return row


def open_target(browser, case: str, url: str, pid: int) -> bb.Target:
    if case == "bare":
        return bb.open_bare(browser, url, pid)
    if case == "explore-threshold":
        return bb.open_explore(browser, url, pid, "global-threshold", "Threshold", "Explore, global threshold")
    if case == "explore-kmeans":
        return bb.open_explore(browser, url, pid, "kmeans&p.n_clusters=2", "N clusters", "Explore, k-means k")
    if case == "compare":
        return bb.open_compare(browser, url, pid)
    raise ValueError(f"case={case!r} is not allowed: expected bare, explore-threshold, explore-kmeans or compare")


def run(case: str, presses: int, plotly: bool = False, warmup: int = 2) -> list[dict]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        script = bb.ROOT / "app.py"
        if case == "bare":
            script = Path(folder) / "bare_app.py"
            script.write_text(bb.BARE_APP)
        process, url = bb.start_server(script)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=bb.CHROMIUM, args=bb.CHROMIUM_ARGS)
                target = open_target(browser, case, url, process.pid)
                for _ in range(warmup):
                    target.move()
                cdp = target.page.context.new_cdp_session(target.page)
                cdp.send("Network.enable")
                frames: list = []
                cdp.on("Network.webSocketFrameReceived", lambda event: frames.append(
                    (event["timestamp"], len(base64.b64decode(event["response"]["payloadData"])))))
                rows = [profile_press(browser, target, frames, plotly) for _ in range(presses)]
                browser.close()
        finally:
            bb.stop_server(process)
    return rows


def main(argv: list[str] | None = None) -> None:
    from .harness import table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", default="explore-threshold",
                        help="bare, explore-threshold, explore-kmeans or compare (comma-separated for several)")
    parser.add_argument("--presses", type=int, default=4, help="traced key presses per case")
    parser.add_argument("--plotly", action="store_true",
                        help="also sample JavaScript to tell plotly's share of the script time (slower still)")
    args = parser.parse_args(argv)
    summary = []
    for case in [c.strip() for c in args.case.split(",") if c.strip()]:
        rows = run(case, args.presses, args.plotly)
        medians = {key: statistics.median(r[key] for r in rows if r[key] is not None) if any(
            r[key] is not None for r in rows) else None for key in rows[0]}
        summary.append({"case (median of presses)": case, **medians})
        print(f"{case}: " + json.dumps([{k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()}
                                        for r in rows]), flush=True)
    print(f"\nms from the keydown, medians of {args.presses} traced presses; main thread time split until the "
          f"repaint, 'after' = main thread time from the repaint until idle; load {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs\n")
    print(table(summary))


if __name__ == "__main__":
    main()
