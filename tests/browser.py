"""A headless Chromium for tests, driven over the DevTools protocol (a websocket).

with headless_chromium() as browser:       # pytest.skip()s when Chromium is not installed
    page = browser.open("http://127.0.0.1:8080/docs")
    page.wait_for("document.querySelectorAll('.opblock').length > 0")
    page.requested                         # every URL the page asked for
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "headless_shell")
STARTUP_SECONDS = 20.0
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-port=0",
    # any host but loopback fails to resolve, so a page that needs the internet shows it
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


def chromium_path() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


class Page:
    """One tab: navigate, evaluate, and the list of URLs it requested."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.requested: list[str] = []
        self.failed: list[str] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=STARTUP_SECONDS))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        params = message.get("params", {})
        if message.get("method") == "Network.requestWillBeSent":
            self.requested.append(params["request"]["url"])
        elif message.get("method") == "Network.loadingFailed":
            self.failed.append(params.get("errorText", "?"))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, seconds: float = 20.0) -> Any:
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"never true within {seconds:g} s: {expression}")


class Browser:
    def __init__(self, devtools: str) -> None:
        self.devtools = devtools

    @contextmanager
    def open(self, url: str) -> Iterator[Page]:
        target = httpx.put(f"{self.devtools}/json/new?about:blank").json()
        with connect(target["webSocketDebuggerUrl"], max_size=None) as socket:
            page = Page(socket)
            page.call("Network.enable")
            page.call("Page.enable")
            page.call("Page.navigate", url=url)
            yield page


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """A headless Chromium with a fresh profile; skips the test when none is installed."""
    binary = chromium_path()
    if binary is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    # chromium helpers may still write the profile as it exits: its removal must not fail
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        args = [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        try:
            yield Browser(_devtools_url(Path(profile), proc))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _devtools_url(profile: Path, proc: subprocess.Popen[bytes]) -> str:
    """Chromium writes the port it chose into the profile once it listens."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Chromium exited with {proc.returncode}")
        if port_file.is_file() and port_file.read_text().strip():
            return f"http://127.0.0.1:{port_file.read_text().split()[0]}"
        time.sleep(0.05)
    raise RuntimeError(f"Chromium did not open its DevTools port within {STARTUP_SECONDS:g} s")
