#!/usr/bin/env python3
"""Measure and screenshot an HTML file in headless Chromium at a given width,
light or dark, through the DevTools protocol over a pipe (no Python packages
needed). The command line's --window-size is not the layout width in
headless mode (it never goes below 500 px), so the width is set with
Emulation.setDeviceMetricsOverride, as DevTools' device mode does.

    cdp.py FILE WIDTH light|dark on|off [OUT.png [TOP HEIGHT]]

Prints the document's height in CSS pixels; with OUT.png, also writes a
screenshot of the whole document (or of HEIGHT pixels from TOP down, to look
at a part of it closely). "off" starts Chromium with images
disabled, as a mail client that blocks remote images shows the message.
"""

import base64
import json
import os
import subprocess
import sys


class Browser:
    def __init__(self, images: bool):
        cmd_r, self.cmd_w = os.pipe()
        self.resp_r, resp_w = os.pipe()

        def fds():
            # Chromium reads commands on fd 3 and answers on fd 4. A pipe's
            # fds are close-on-exec, and dup2 onto itself keeps the flag.
            r, w = os.dup(cmd_r), os.dup(resp_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        args = [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            "--no-first-run",
        ]
        if not images:
            args.append("--blink-settings=imagesEnabled=false")
        self.proc = subprocess.Popen(
            args + ["about:blank"],
            preexec_fn=fds,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(cmd_r)
        os.close(resp_w)
        self.buf = b""
        self.next_id = 0
        self.session = None

    def _read(self) -> dict:
        while b"\0" not in self.buf:
            chunk = os.read(self.resp_r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def wait_for(self, event: str):
        while True:
            if self._read().get("method") == event:
                return

    def close(self):
        self.session = None
        try:
            self.call("Browser.close")
        except RuntimeError:
            pass
        self.proc.wait(timeout=10)


def main():
    path, width, scheme, images = sys.argv[1:5]
    out = sys.argv[5] if len(sys.argv) > 5 else None
    part = [int(v) for v in sys.argv[6:8]]
    width = int(width)
    b = Browser(images == "on")
    try:
        target = b.call("Target.createTarget", url="about:blank")["targetId"]
        b.session = b.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        b.call("Page.enable")
        b.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=667,
            deviceScaleFactor=1,
            mobile=False,
        )
        b.call(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": scheme}],
        )
        b.call("Page.navigate", url="file://" + os.path.abspath(path))
        b.wait_for("Page.loadEventFired")
        height = b.call(
            "Runtime.evaluate",
            expression="document.documentElement.scrollHeight",
            returnByValue=True,
        )["result"]["value"]
        print(height)
        if out:
            b.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            clip = {}
            if part:
                top, tall = part
                clip = {"clip": {"x": 0, "y": top, "width": width, "height": tall, "scale": 1}}
            shot = b.call("Page.captureScreenshot", format="png", **clip)["data"]
            with open(out, "wb") as f:
                f.write(base64.b64decode(shot))
    finally:
        b.close()


if __name__ == "__main__":
    main()
