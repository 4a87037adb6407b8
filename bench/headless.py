"""A Streamlit session without a browser: the page's own websocket protocol, nothing rendered.

The class benchmarks stand thirty learners' computers on this machine's two cores. A Chromium tab
per learner renders every poll of the Train page, and thirty of them take the CPU from the
server they are meant to measure. A `HeadlessSession` asks the server for exactly what a tab
asks for (the page run with its URL's query string, a button's trigger, a drawing's PNG, the
fragment reruns the page schedules, at the intervals it schedules them) and keeps the page's
elements as text, so the server does a class's work while the learners' own computers cost
almost nothing here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import time
from dataclasses import dataclass

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

MAIN, SIDEBAR = 0, 1
PROBLEM_FORMATS = (Alert.ERROR, Alert.WARNING)
FULL_RUN_FINISHED = ForwardMsg.FINISHED_SUCCESSFULLY
FRAGMENT_RUN_FINISHED = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY


@dataclass(frozen=True)
class Shown:
    """One element on the page, as text: its kind, its label (if any) and its text."""

    path: tuple[int, ...]
    kind: str
    label: str
    text: str
    widget_id: str = ""
    alert_format: int = 0
    # The fragment that drew it: a widget there reruns only that fragment, as in the browser.
    fragment_id: str = ""
    disabled: bool = False

    @property
    def in_sidebar(self) -> bool:
        return self.path[0] == SIDEBAR


def shown_from(path: tuple[int, ...], element: Element, fragment_id: str = "") -> Shown:
    kind = element.WhichOneof("type") or "empty"
    proto = getattr(element, kind, None)
    label = getattr(proto, "label", "") if proto is not None else ""
    text = ""
    for field in ("body", "text", "code_text", "message"):
        value = getattr(proto, field, None)
        if isinstance(value, str) and value:
            text = value
            break
    alert_format = proto.format if kind == "alert" else 0
    widget_id = getattr(proto, "id", "") or ""
    disabled = bool(getattr(proto, "disabled", False))
    return Shown(path, kind, label, text, widget_id, alert_format, fragment_id, disabled)


@dataclass
class _Placed:
    shown: Shown
    run_id: str


class HeadlessSession:
    """One learner's session on a running server, driven through the page's websocket.

    `open()` runs a page as a browser's first visit does; `click()` presses a button;
    `draw_png()` hands a drawable canvas a PNG as its frontend would after a stroke. The
    fragment reruns the page asks for (`st.fragment(run_every=...)`) are sent on their
    timers, as the browser sends them, until the page stops them or a full run begins.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self.query_string = ""
        self.page_name = ""
        self._socket = None
        self._reader: asyncio.Task | None = None
        self._placed: dict[tuple[int, ...], _Placed] = {}
        self._pages: dict[str, str] = {}
        self._page_hash = ""
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}
        self._changed = asyncio.Condition()
        self._runs_finished = 0
        # Runs of the page the server started for this session: whole page, and fragment only.
        self.full_runs = 0
        self.fragment_runs = 0
        # Only a run's first and last messages name it; the deltas between belong to it.
        self._run_id = ""
        self._running = False
        self._closed_error: BaseException | None = None

    # -- connection ------------------------------------------------------------------------

    async def open(self, page: str = "", query: str = "") -> None:
        """Connect and run `page` (its URL path, e.g. "train") with `query` as a browser would."""
        uri = self.base.replace("http://", "ws://", 1) + "/_stcore/stream"
        self._socket = await websockets.connect(
            uri, subprotocols=["streamlit"], origin=self.base, max_size=None
        )
        self._reader = asyncio.create_task(self._read())
        self.page_name, self.query_string = page, query
        await self.rerun_and_wait()

    async def close(self) -> None:
        for _interval, timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def __aenter__(self) -> HeadlessSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- what the learner does -------------------------------------------------------------

    async def rerun(
        self, widgets: list[WidgetState] | None = None, fragment_id: str = "", auto: bool = False
    ) -> None:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_name = self.page_name
        state.page_script_hash = self._page_hash
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.widget_states.widgets.extend(widgets or [])
        await self._socket.send(message.SerializeToString())

    async def rerun_and_wait(self, widgets: list[WidgetState] | None = None) -> None:
        """A full run of the page, and its end (the page may go on to rerun by itself)."""
        finished = self._runs_finished
        await self.rerun(widgets)
        await self.wait_until(lambda: self._runs_finished > finished)

    async def click(self, label: str) -> None:
        """Press the enabled button labelled `label` (its trigger, as the browser sends it)."""
        button = self.find(lambda shown: shown.kind == "button" and shown.label == label)
        if button is None:
            raise LookupError(f"no button {label!r} on the page")
        if button.disabled:
            raise LookupError(f"the button {label!r} is disabled")
        trigger = WidgetState(id=button.widget_id, trigger_value=True)
        await self.rerun([trigger], fragment_id=button.fragment_id)

    async def go_to(self, page: str) -> None:
        """Follow the page menu to `page` (its URL path), keeping the query string's lab."""
        if page not in self._pages:
            raise LookupError(f"no page {page!r} in the app's navigation")
        lab = [part for part in self.query_string.split("&") if part.startswith("lab=")]
        self.page_name, self._page_hash = page, self._pages[page]
        self.query_string = "&".join(lab)
        await self.rerun_and_wait()

    async def draw_png(self, png: bytes, width: int, height: int) -> None:
        """Send a drawable canvas's drawing, as its frontend does after a stroke."""
        canvas = self.find(lambda shown: shown.kind == "bidi_component")
        if canvas is None:
            raise LookupError("no canvas on the page")
        data_url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        drawing = {
            "raw": {"version": "5.3.0", "objects": [], "width": width, "height": height},
            "data": data_url,
        }
        value = json.dumps({"drawing": drawing})
        state = WidgetState(id=canvas.widget_id, json_value=value)
        await self.rerun([state], fragment_id=canvas.fragment_id)

    # -- what the page shows ---------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No run of the page (full or fragment) is going on."""
        return not self._running

    def elements(self) -> list[Shown]:
        return [placed.shown for _path, placed in sorted(self._placed.items())]

    def find(self, match) -> Shown | None:
        return next((shown for shown in self.elements() if match(shown)), None)

    def texts(self) -> list[str]:
        return [" ".join(filter(None, (s.label, s.text))) for s in self.elements()]

    def problems(self) -> list[str]:
        """Errors, warnings and exceptions on the page, as text."""
        return [
            shown.text
            for shown in self.elements()
            if shown.kind == "exception"
            or (shown.kind == "alert" and shown.alert_format in PROBLEM_FORMATS)
        ]

    async def wait_until(self, condition, timeout: float = 120.0) -> None:
        """Until `condition()` holds for the page as it is now; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not condition():
                if self._closed_error is not None:
                    raise ConnectionError(f"the server closed the session: {self._closed_error}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"waited {timeout:.0f} s; the page shows {self.texts()}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    # -- the protocol ----------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for data in self._socket:
                message = ForwardMsg()
                message.ParseFromString(data)
                self._handle(message)
                async with self._changed:
                    self._changed.notify_all()
        except Exception as error:  # the connection's end, whatever its cause
            self._closed_error = error
        else:
            self._closed_error = ConnectionError("closed")
        async with self._changed:
            self._changed.notify_all()

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        run = message.metadata.run
        if kind == "new_session":
            self._run_id = run.script_run_id
            self._running = True
            if run.fragment_ids:
                self.fragment_runs += 1
            else:
                self.full_runs += 1
                # A full run: the browser drops its fragments' timers (`cleanupAutoReruns`).
                for _interval, timer in self._timers.values():
                    timer.cancel()
                self._timers.clear()
        elif kind == "session_status_changed":
            self._running = message.session_status_changed.script_is_running
        elif kind == "navigation":
            self._page_hash = message.navigation.page_script_hash
            self._pages = {
                page.url_pathname: page.page_script_hash for page in message.navigation.app_pages
            }
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "delta":
            self._place(message, self._run_id)
        elif kind == "auto_rerun":
            self._start_timer(message.auto_rerun.fragment_id, message.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in message.stop_auto_rerun.fragment_ids:
                entry = self._timers.pop(fragment_id, None)
                if entry is not None:
                    entry[1].cancel()
        elif kind == "script_finished":
            self._running = False
            self._finish(message.script_finished, run.script_run_id, tuple(run.fragment_ids))
        elif kind == "ref_hash":
            raise RuntimeError("the server sent a cached message this client never asked for")

    def _place(self, message: ForwardMsg, run_id: str) -> None:
        path = tuple(message.metadata.delta_path)
        delta = message.delta
        if delta.WhichOneof("type") == "new_element":
            shown = shown_from(path, delta.new_element, delta.fragment_id)
        else:
            shown = Shown(path, "block", "", "", fragment_id=delta.fragment_id)
        # Whatever stood at this path and below it belongs to the element now placed there.
        for old in [p for p in self._placed if p[: len(path)] == path and p != path]:
            if self._placed[old].run_id != run_id:
                del self._placed[old]
        self._placed[path] = _Placed(shown, run_id)

    def _finish(self, status: int, run_id: str, fragment_ids: tuple[str, ...]) -> None:
        """Drop what the run that just ended did not draw again, as the browser does."""
        if status == FULL_RUN_FINISHED:
            stale = [p for p, placed in self._placed.items() if placed.run_id != run_id]
            self._runs_finished += 1
        elif status == FRAGMENT_RUN_FINISHED:
            stale = [
                p
                for p, placed in self._placed.items()
                if placed.shown.fragment_id in fragment_ids and placed.run_id != run_id
            ]
        else:
            return
        for path in stale:
            del self._placed[path]

    def _start_timer(self, fragment_id: str, interval: float) -> None:
        existing = self._timers.get(fragment_id)
        if existing is not None and existing[0] == interval:
            return
        if existing is not None:
            existing[1].cancel()
        self._timers[fragment_id] = (
            interval,
            asyncio.create_task(self._tick(fragment_id, interval)),
        )

    async def _tick(self, fragment_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.rerun(fragment_id=fragment_id, auto=True)


def canvas_png_of_a_one(width: int, height: int, stroke: int) -> bytes:
    """The Draw page's canvas (white pen on black) as a PNG after a learner draws a 1."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    x, margin = width // 2, height // 8
    ImageDraw.Draw(image).line(
        [(x, margin), (x, height - margin)], fill=(255, 255, 255, 255), width=stroke
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
