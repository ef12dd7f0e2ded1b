"""A headless Streamlit client that speaks the app's websocket protocol, for load tests.

A browser talks to ``streamlit run`` over one websocket, ``/_stcore/stream``:
it sends ``BackMsg`` protobufs (``rerun_script`` with a ``ClientState``: the
query string, the page, and the widget values the user changed) and
receives ``ForwardMsg`` protobufs (``new_session``, ``delta`` elements, and
``script_finished`` when a run is over). Images arrive as ``/media/...``
URLs the browser then fetches. :class:`Session` does the same with the
proto modules that ship with the streamlit package, so one machine can play
dozens of students without a browser each.

It implements what the load tests need, not the whole client: sliders,
fragment reruns (``run_every`` auto-reruns included), exceptions and media.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
            ForwardMsg.FINISHED_WITH_COMPILE_ERROR}


@dataclass
class Slider:
    """A slider seen in the page: its widget id, range and the fragment it lives in ('' when none)."""

    id: str
    label: str
    low: float
    high: float
    step: float
    value: float
    integer: bool
    fragment_id: str = ""
    options: tuple[str, ...] = ()  # a select slider: its formatted options (values are their indices)


@dataclass
class RunReport:
    """What one script run sent back."""

    seconds: float
    images: int = 0
    image_bytes: int = 0
    exceptions: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # the /media addresses of the images it showed


class Session:
    """One student: a websocket session on the app at ``base_url``.

    Parameters
    ----------
    base_url : str
        ``http://127.0.0.1:8501`` (loopback only in the benchmarks).
    query : str
        The page's query string (``method=kmeans&sample=coins``).
    fetch_media : bool
        Fetch the images a run shows, as a browser does.
    """

    def __init__(self, base_url: str, query: str = "", *, fetch_media: bool = True, path: str = ""):
        self.base_url = base_url.rstrip("/")
        self.query = query
        self.path = path
        self.fetch_media = fetch_media
        self.sliders: dict[str, Slider] = {}
        self.session_id = ""
        self.page_hash = ""
        self.cookies = ""
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._finished: asyncio.Queue = asyncio.Queue()
        self._auto: dict[str, asyncio.Task] = {}
        self._current = RunReport(0.0)
        self._media: list[str] = []
        self._send_lock = asyncio.Lock()

    async def open(self, timeout: float = 120) -> RunReport:
        """Load the page, connect its websocket and run the page once (as opening its address does).

        Cookies the page sets (a proxy's sticky-session cookie) go with the websocket and the media.
        """
        self.cookies = await asyncio.to_thread(self._page_cookies)
        headers = {"Cookie": self.cookies} if self.cookies else None
        ws_url = self.base_url.replace("http", "ws", 1) + self.path + "/_stcore/stream"
        self._ws = await connect(ws_url, subprotocols=["streamlit"], origin=self.base_url, max_size=None,
                                 ping_interval=None, open_timeout=timeout, additional_headers=headers)
        self._reader = asyncio.create_task(self._read())
        return await self.rerun(timeout=timeout)

    async def close(self) -> None:
        for task in self._auto.values():
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    def slider(self, ending: str) -> Slider | None:
        """The slider whose widget id ends with ``ending`` (ids end with the widget's key)."""
        return next((s for s in self.sliders.values() if s.id.endswith(ending)), None)

    async def move(self, slider: Slider, value: float, timeout: float = 120) -> RunReport:
        """Set ``slider`` to ``value`` (an option's index for a select slider) and wait for the repaint."""
        state = BackMsg().rerun_script.widget_states.widgets.add()
        state.id = slider.id
        if slider.options:
            state.string_array_value.data.append(slider.options[int(value)])
        else:
            state.double_array_value.data.append(float(value))
        slider.value = value
        return await self.rerun([state], fragment_id=slider.fragment_id, timeout=timeout)

    async def rerun(self, widget_states=(), *, fragment_id: str = "", auto: bool = False,
                    timeout: float = 120) -> RunReport:
        """Send one ``rerun_script`` and wait for its ``script_finished`` (and its images)."""
        message = BackMsg()
        client = message.rerun_script
        client.query_string = self.query
        client.page_script_hash = self.page_hash
        client.fragment_id = fragment_id
        client.is_auto_rerun = auto
        for state in widget_states:
            client.widget_states.widgets.add().CopyFrom(state)
        while not self._finished.empty():
            self._finished.get_nowait()
        start = time.perf_counter()
        self._current, self._media = RunReport(0.0), []
        async with self._send_lock:
            await self._ws.send(message.SerializeToString())
        report = await asyncio.wait_for(self._finished.get(), timeout)
        report.urls = list(self._media)
        if self.fetch_media and self._media:
            sizes = await asyncio.gather(*(asyncio.to_thread(self._get, url) for url in self._media))
            report.images, report.image_bytes = len(sizes), sum(sizes)
        report.seconds = time.perf_counter() - start
        return report

    async def next_run(self, timeout: float = 120) -> RunReport:
        """Wait for the next run to finish without asking for one (a fragment's own refresh, a rerun
        the page started itself), with its images; ``seconds`` counts from this call."""
        start = time.perf_counter()
        report = await asyncio.wait_for(self._finished.get(), timeout)
        media, self._media = self._media, []
        report.urls = list(media)
        if self.fetch_media and media:
            sizes = await asyncio.gather(*(asyncio.to_thread(self._get, url) for url in media))
            report.images, report.image_bytes = len(sizes), sum(sizes)
        report.seconds = time.perf_counter() - start
        return report

    def _page_cookies(self) -> str:
        with urllib.request.urlopen(f"{self.base_url}{self.path}/?{self.query}", timeout=60) as response:
            response.read()
            return "; ".join(c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or [])

    def _get(self, url: str) -> int:
        full = url if url.startswith("http") else self.base_url + self.path + url
        request = urllib.request.Request(full, headers={"Cookie": self.cookies} if self.cookies else {})
        with urllib.request.urlopen(request, timeout=60) as response:
            return len(response.read())

    async def _read(self) -> None:
        async for data in self._ws:
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "new_session":
                self.session_id = message.new_session.initialize.session_id or self.session_id
                self.page_hash = message.new_session.page_script_hash or self.page_hash
                if not message.metadata.run.fragment_ids:  # a full run: its fragments register anew
                    self._stop_auto(list(self._auto))
            elif kind == "delta":
                self._delta(message.delta)
            elif kind == "script_finished" and message.script_finished in FINISHED:
                self._finished.put_nowait(self._current)
                self._current = RunReport(0.0)
            elif kind == "auto_rerun":
                self._start_auto(message.auto_rerun.interval, message.auto_rerun.fragment_id)
            elif kind == "stop_auto_rerun":
                self._stop_auto(list(message.stop_auto_rerun.fragment_ids))

    def _stop_auto(self, fragment_ids: list[str]) -> None:
        for fragment_id in fragment_ids:
            task = self._auto.pop(fragment_id, None)
            if task is not None:
                task.cancel()

    def _delta(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        what = element.WhichOneof("type")
        if what == "slider":
            s = element.slider
            value = s.value[0] if s.set_value and s.value else (s.default[0] if s.default else s.min)
            self.sliders[s.id] = Slider(s.id, s.label, s.min, s.max, s.step or 1.0, value,
                                        s.data_type in (s.INT, s.DATETIME, s.DATE, s.TIME), delta.fragment_id,
                                        tuple(s.options))
        elif what == "exception":
            self._current.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif what == "imgs":
            self._media.extend(img.url for img in element.imgs.imgs if img.url.startswith("/media"))
        elif what == "alert":
            self._current.texts.append(element.alert.body)
        elif what == "markdown":
            self._current.texts.append(element.markdown.body)

    def _start_auto(self, interval: float, fragment_id: str) -> None:
        if fragment_id in self._auto:
            return

        async def tick():
            while True:
                await asyncio.sleep(interval)
                message = BackMsg()
                message.rerun_script.query_string = self.query
                message.rerun_script.page_script_hash = self.page_hash
                message.rerun_script.fragment_id = fragment_id
                message.rerun_script.is_auto_rerun = True
                async with self._send_lock:
                    await self._ws.send(message.SerializeToString())

        self._auto[fragment_id] = asyncio.create_task(tick())
