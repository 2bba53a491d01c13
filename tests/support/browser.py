"""Debian's headless Chromium, driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read protocol messages (JSON, each ended by a NUL byte)
from fd 3 and write its answers and events to fd 4: no WebSocket client is needed, and the test
can wait on what the page shows (``wait_for``) instead of guessing a virtual-time budget.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--mute-audio",
                  "--disable-dev-shm-usage")
COMMAND_TIMEOUT_S = 30.0


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("chromium is not installed; run .ci/setup test as root (apt chromium)")


class Browser:
    """One headless Chromium with one page; ``close()`` ends it."""

    def __init__(self, tmp: Path, width: int = 1280, height: int = 900) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        profile = tmp / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        self.stderr_path = tmp / "chromium.stderr"
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 - closed in close()
        # bash, not sh: dash redirects only single-digit descriptors.
        cmd = ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}',
               chromium_path(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"--window-size={width},{height}", "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(cmd, pass_fds=(to_chrome_r, from_chrome_w),
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.command("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.command("Target.attachToTarget", targetId=target,
                                    flatten=True)["sessionId"]
        self.command("Page.enable", session=True)
        self.command("Emulation.setDeviceMetricsOverride", session=True, width=width,
                     height=height, deviceScaleFactor=1, mobile=False)

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._replies[-1] = {"error": {"message": "chromium exited"}}
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._replies[message["id"]] = message
                        self._cond.notify_all()

    def command(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        msg_id = self._next_id
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        with self._cond:
            while msg_id not in self._replies and -1 not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"chromium did not answer {method} in "
                                         f"{COMMAND_TIMEOUT_S:g} s")
                self._cond.wait(left)
            reply = self._replies.pop(msg_id, None) or self._replies[-1]
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}; stderr: "
                                 f"{self.stderr_path.read_text()[-1500:]}")
        return dict(reply.get("result", {}))

    def goto(self, url: str) -> None:
        self.command("Page.navigate", session=True, url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.command("Runtime.evaluate", session=True, expression=expression,
                              returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float, what: str) -> Any:
        """Poll a JavaScript expression until it is truthy; its last value in the failure."""
        deadline = time.monotonic() + timeout_s
        value: Any = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except AssertionError as exc:  # the page is (re)loading
                value = str(exc)[:300]
            if value and not (isinstance(value, str) and value.startswith("page script")):
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what} "
                             f"(last: {value!r})")

    def screenshot(self, path: Path) -> Path:
        data = self.command("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc.poll() is None:
                os.write(self._to_chrome, json.dumps(
                    {"id": 0, "method": "Browser.close", "params": {}}).encode() + b"\0")
                self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._stderr.close()
