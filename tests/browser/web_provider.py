"""The third-party OFREP web provider, installed from the npm registry at the versions pinned here and
bundled for a page, and a page server of its own origin that collects what the page reports. Nothing of it is
committed: it is installed into a temporary directory when the tests start."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PACKAGES = {
    "@openfeature/web-sdk": "1.10.0",
    "@openfeature/ofrep-web-provider": "0.4.3",
    "@openfeature/ofrep-core": "2.3.0",
    "esbuild": "0.28.2",
}
_ENTRY = """
import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
window.OpenFeature = OpenFeature;
window.ProviderEvents = ProviderEvents;
window.OFREPWebProvider = OFREPWebProvider;
"""
# The page: evaluates the flags its URL asks for (`asks`: a JSON list of [name, kind, flag key, default]) with
# the web SDK's client, for the targeting key `user`, and reports each one's details when ready and after each
# change. With `then`, it then switches the context's targeting key to that one and reports again.
PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="/bundle.js"></script></head>
<body><script>
const params = new URLSearchParams(location.search);
const asks = JSON.parse(params.get("asks"));
const getters = {
  boolean: "getBooleanDetails", string: "getStringDetails",
  number: "getNumberDetails", object: "getObjectDetails",
};
const report = (data) => fetch("/report", {method: "POST", body: JSON.stringify(data)});
window.onerror = (message) => { report({phase: "error", message: String(message)}); };
window.onunhandledrejection = (event) => { report({phase: "error", message: String(event.reason)}); };
function flags() {
  const client = OpenFeature.getClient();
  const seen = {};
  for (const [name, kind, key, fallback] of asks) {
    const d = client[getters[kind]](key, fallback);
    // An undefined field (no variant, no error) is left out of the report.
    seen[name] = {value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode};
  }
  return seen;
}
(async () => {
  await OpenFeature.setContext({targetingKey: params.get("user")});
  const provider = new OFREPWebProvider({
    baseUrl: params.get("server"),
    headers: [["Authorization", "Bearer " + params.get("key")]],
  });
  OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, () => report({phase: "changed", ...flags()}));
  OpenFeature.addHandler(ProviderEvents.Error, (d) => report({phase: "error", message: d.message}));
  try {
    await OpenFeature.setProviderAndWait(provider);
    report({phase: "ready", ...flags()});
    if (params.get("then")) {
      await OpenFeature.setContext({targetingKey: params.get("then")});
      report({phase: "context", ...flags()});
    }
  } catch (error) {
    report({phase: "error", message: String(error)});
  }
})();
</script></body></html>
"""


def build_bundle(directory: Path) -> Path:
    """`npm install` of the pinned packages and an esbuild bundle exposing them on `window`."""
    npm = shutil.which("npm")
    assert npm is not None
    (directory / "package.json").write_text(json.dumps({"private": True, "dependencies": PACKAGES}))
    (directory / "entry.js").write_text(_ENTRY)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=directory,
        check=True,
        timeout=600,
    )
    esbuild = directory / "node_modules" / ".bin" / "esbuild"
    bundle = directory / "bundle.js"
    subprocess.run(
        [
            str(esbuild),
            "entry.js",
            "--bundle",
            "--format=iife",
            f"--outfile={bundle.name}",
            "--log-level=error",
        ],
        cwd=directory,
        check=True,
        timeout=120,
    )
    return bundle


class PageServer:
    """Serves the page and the bundle on its own loopback port (so its own origin), and queues each report."""

    def __init__(self, bundle: Path) -> None:
        self.reports: queue.Queue[dict[str, Any]] = queue.Queue()
        bundle_bytes, reports = bundle.read_bytes(), self.reports

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/bundle.js":
                    self._send(200, "text/javascript", bundle_bytes)
                elif path == "/":
                    self._send(200, "text/html", PAGE.encode())
                else:
                    self._send(404, "text/plain", b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                reports.put(json.loads(self.rfile.read(length)))
                self._send(204, "text/plain", b"")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.http.shutdown()
        self.http.server_close()

    def next_report(self, timeout: float = 15.0) -> dict[str, Any]:
        report = self.reports.get(timeout=timeout)
        assert report["phase"] != "error", report
        return report


class Chromium:
    """Headless Chromium showing one page; stopped by its own handle."""

    def __init__(self, url: str, profile: Path) -> None:
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        assert binary is not None
        command = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", f"--user-data-dir={profile}", url]  # fmt: skip
        # A session of its own: the browser's helper processes are stopped with it, by its process group.
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
