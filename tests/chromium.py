"""Debian's chromium, headless, for the gallery tests (and benchmarks/bench_draw.py).

Two ways in: :func:`dump_dom` runs ``chromium --dump-dom`` on a URL and returns the DOM after
the page's script ran; :class:`Browser` starts chromium with the DevTools protocol on a
loopback port and drives one page over its websocket (load, evaluate, click, hover, keys,
screenshots, the network requests made). ``make test`` installs chromium
(``.ci/install-chromium``); without it these raise, so a missing browser fails the tests
instead of skipping them.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")

#: As root on a machine whose only network is package registries: no sandbox (root), no GPU,
#: and nothing that phones home at start (its refused connections slow the start down).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def executable() -> str:
    """The chromium binary; RuntimeError when it is not installed."""
    if not CHROMIUM.is_file():
        raise RuntimeError(
            f"{CHROMIUM} is missing: the gallery tests need Debian's chromium "
            "(`make test` installs it with .ci/install-chromium; or apt-get install -y chromium)"
        )
    return str(CHROMIUM)


def dump_dom(url: str, *, window: tuple[int, int] = (1200, 800), timeout: float = 60) -> str:
    """The page's DOM, serialised after its load event (``chromium --dump-dom``)."""
    profile = tempfile.mkdtemp(prefix="coco-convert-chromium-")
    try:
        done = subprocess.run(
            [
                executable(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={window[0]},{window[1]}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class CDPError(RuntimeError):
    """The DevTools protocol answered a command with an error, or the page threw."""


class Browser:
    """One headless chromium with one page, driven over the DevTools protocol."""

    def __init__(
        self, *, window: tuple[int, int] = (1200, 800), timeout: float = 30, network: bool = False
    ) -> None:
        """``network``: record the page's requests (:meth:`requested_urls`); this makes
        chromium send every data URI back over the protocol, so pages load slower."""
        import websocket

        self.timeout = timeout
        self.window = window
        self.events: list[dict[str, Any]] = []
        self._next = 0
        self.profile = Path(tempfile.mkdtemp(prefix="coco-convert-chromium-"))
        self.process = subprocess.Popen(
            [
                executable(),
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={window[0]},{window[1]}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = self._port()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = json.load(r)
            page = next(t for t in targets if t.get("type") == "page")
            self.socket = websocket.create_connection(
                page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True
            )
            self.send("Page.enable")
            if network:
                self.send("Network.enable")
            self.send(
                "Emulation.setDeviceMetricsOverride",
                width=window[0],
                height=window[1],
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.close()
            raise

    def _port(self) -> int:
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if active.is_file():
                lines = active.read_text().split()
                if lines:
                    return int(lines[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited at start (status {self.process.returncode})")
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port in time")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer (events that arrive meanwhile are kept)."""
        self._next += 1
        ident = self._next
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, event: str, timeout: float | None = None) -> dict[str, Any]:
        """The first kept or arriving event named ``event`` (removed from the kept ones)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for k, message in enumerate(self.events):
                if message.get("method") == event:
                    del self.events[k]
                    return dict(message.get("params", {}))
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} event")
            self.events.append(json.loads(self.socket.recv()))

    def open(self, url: str) -> float:
        """Load ``url`` and wait for its load event; returns the seconds it took."""
        self.events.clear()
        start = time.perf_counter()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        return time.perf_counter() - start

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        answer = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise CDPError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def centre(self, selector: str) -> tuple[float, float]:
        """The centre of the first element matching ``selector``, scrolled into view."""
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
            "if (!e) return null; e.scrollIntoView({block: 'center'}); "
            "const r = e.getBoundingClientRect(); "
            "return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        if found is None:
            raise CDPError(f"no element matches {selector!r}")
        return float(found[0]), float(found[1])

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the element's centre."""
        x, y = self.centre(selector)
        self.mouse("mouseMoved", x, y)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def mouse(self, kind: str, x: float, y: float) -> None:
        self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y)

    def key(self, key: str, code: int) -> None:
        """Press and release a key (``key`` as in KeyboardEvent.key, ``code`` its Windows
        virtual key code)."""
        for kind in ("keyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                code=key,
                windowsVirtualKeyCode=code,
            )

    def screenshot(self) -> bytes:
        """The viewport as PNG bytes."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        return base64.b64decode(data)

    def requested_urls(self) -> list[str]:
        """URLs of the requests the page made since it was opened (with ``network``)."""
        return [
            m["params"]["request"]["url"]
            for m in self.events
            if m.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        socket = getattr(self, "socket", None)
        if socket is not None:
            socket.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
