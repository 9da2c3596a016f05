"""How docs/mlflow-ui.png was taken: headless Chromium driven over the DevTools protocol (not part of the product).

It opens an experiment's runs table filtered by a table row and sorted by test/best_acc (both from the URL),
closes the assistant panel, adds the metric columns through the "Columns" menu and saves a screenshot.
Needs Chromium and `pip install websocket-client` (kept out of the project's dependencies):

  mlflow ui --backend-store-uri sqlite:///$PWD/runs/ui-demo/mlflow.db \
      --artifacts-destination $PWD/runs/ui-demo/mlartifacts --port 5056 &
  URL='http://127.0.0.1:5056/#/experiments/1/runs?searchFilter=tags.%60rlkd.row%60%20LIKE%20%27VGG13-VGG8%25%27'
  URL="$URL&orderByKey=metrics.%60test%2Fbest_acc%60&orderByAsc=false"
  python docs/mlflow_ui_screenshot.py "$URL" docs/mlflow-ui.png test/best_acc test/acc
"""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

PORT = 9333


class Page:
    """One Chromium tab over CDP: calls, JavaScript, real mouse clicks (Radix menus ignore element.click())."""

    def __init__(self) -> None:
        tabs = []
        for _ in range(50):
            try:
                tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/json"))
                break
            except OSError:
                time.sleep(0.3)
        page = next(t for t in tabs if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                return msg.get("result", {})

    def js(self, expr: str):
        return self.call("Runtime.evaluate", expression=expr, returnByValue=True).get("result", {}).get("value")

    def centre(self, element_expr: str):
        return self.js(f"(() => {{ const e = {element_expr}; if (!e) return null; const r = e.getBoundingClientRect();"
                       " return [r.x + r.width / 2, r.y + r.height / 2]; })()")

    def click(self, xy) -> None:
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=xy[0], y=xy[1], button="left", clickCount=1)


def main(url: str, out: str, columns: list[str]) -> None:
    profile = tempfile.mkdtemp(prefix="chromium-")
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--remote-debugging-port={PORT}", "--window-size=1700,720", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = Page()
        page.call("Page.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=1700, height=720, deviceScaleFactor=1, mobile=False)
        page.call("Page.navigate", url=url)
        time.sleep(8)
        close = page.centre("[...document.querySelectorAll('button')].find(b => "
                            "(b.getAttribute('aria-label') || '').toLowerCase().includes('close'))")
        if close:  # the assistant panel
            page.click(close)
            time.sleep(1)
        page.click(page.centre("[...document.querySelectorAll('button')]"
                               ".find(b => b.textContent.trim() === 'Columns')"))
        time.sleep(2)
        for label in columns:
            page.click(page.centre("[...document.querySelectorAll('input')].find(i => (i.placeholder || '')"
                                   ".toLowerCase().includes('search') && i.getBoundingClientRect().y > 130)"))
            page.js("document.activeElement.select && document.activeElement.select()")
            page.call("Input.insertText", text=label)
            time.sleep(1.5)
            page.click(page.centre("[...document.querySelectorAll('[role=menuitemcheckbox],[role=option],label,li,div')]"
                                   f".reverse().find(e => e.textContent.trim() === {json.dumps(label)})"))
            time.sleep(1)
        page.call("Input.dispatchKeyEvent", type="keyDown", key="Escape", code="Escape", windowsVirtualKeyCode=27)
        page.call("Input.dispatchMouseEvent", type="mouseMoved", x=900, y=600)  # no hover tooltip in the shot
        time.sleep(3)
        with open(out, "wb") as f:
            f.write(base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"]))
    finally:
        browser.terminate()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
