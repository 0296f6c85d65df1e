"""Helpers of the browser tier: a `streamlit run` server on a free port, and Playwright helpers that wait on
conditions, never for a fixed time.

Every wait has a generous deadline (TIMEOUT) because a busy 2-core machine can be slow; a wait returns as
soon as its condition holds, so the deadline costs nothing on a quiet machine. Three kinds of condition:

- a script run ended and is drawn (`wait_idle`): the app root's `data-test-script-state` is `notRunning`, the
  server has ended every run it started, and React has drawn since (RUN_WATCH). Right after a click the run it
  starts may not have begun yet, so `reruns(page)` waits for a run ending after the action;
- the expected content is there: `expect_text`, `expect_charts` (a chart counts once Vega drew it) and
  Playwright's `expect(...)`, which retry until the deadline;
- an event: a download (`page.expect_download()`), the server's health endpoint answering "ok".

Fixtures built on these live in conftest.py (`browser`, `tiny_server`, `server_for`)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

try:  # without playwright the browser tier is skipped (conftest.chromium), so its modules must still import
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)  # TIMEOUT, for the tests' own expect(...) calls too
except ImportError:  # pragma: no cover
    expect = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT = 60_000  # ms: the deadline of every wait (busy machines are slow; a met condition returns at once)
SERVER_START_SECONDS = 120
MAIN = "[data-testid='stMain']"
# a chart counts once Vega has drawn it: Streamlit puts the chart's element in place before Vega draws into it
CHART = "[data-testid='stVegaLiteChart'] > :is(svg, canvas)"
# Installed in every page before Streamlit's own scripts: what the server says about script runs, read from
# its messages (each a protobuf ForwardMsg: field 4, new_session, opens a run; field 6, script_finished, ends it,
# value 2 meaning "ended early for a rerun"; field 9, session_status_changed, says whether a run is going on),
# and React's commits, so a wait can tell that the page shows a run's end. The page's state attribute alone
# can miss a short run when React draws two updates in one go. A run can start and never be said to end: when
# the browser asks for a rerun while one is going on, Streamlit (runner.fastReruns) starts a new script runner
# and drops every later event of the old one, its script_finished too (AppSession._handle_scriptrunner_event_
# on_event_loop, "Ignoring event from non-current ScriptRunner"). The server's status "no script is running"
# therefore closes every run still open.
RUN_WATCH = """
(() => {
  const runs = window.__accordRuns = {started: 0, ended: 0, completed: 0, statuses: 0, commits: 0,
                                       commitsAtMessage: 0};
  const scan = (buffer) => {
    const b = new Uint8Array(buffer);
    let i = 0;
    const varint = () => {
      let value = 0, shift = 0, byte;
      do { byte = b[i++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while ((byte & 0x80) && i < b.length);
      return value;
    };
    while (i < b.length) {
      const key = varint(), field = Math.floor(key / 8), wire = key % 8;
      if (wire === 0) {
        const value = varint();
        if (field === 6) {
          runs.ended += 1;
          if (value !== 2) runs.completed += 1;
          runs.commitsAtMessage = runs.commits;
        }
      } else if (wire === 2) {
        const length = varint(), end = i + length;
        if (field === 4) { runs.started += 1; runs.commitsAtMessage = runs.commits; }
        if (field === 9) {  // session_status_changed: field 2, script_is_running, absent when false
          let running = false;
          while (i < end) {
            const inner = varint();
            if (inner % 8 !== 0) break;  // SessionStatus holds two bools; anything else is not read
            const flag = varint();
            if (Math.floor(inner / 8) === 2) running = flag !== 0;
          }
          runs.statuses += 1;
          if (!running && runs.started > runs.ended) {
            runs.completed += runs.started - runs.ended;
            runs.ended = runs.started;
          }
          runs.commitsAtMessage = runs.commits;
        }
        i = end;
      } else if (wire === 1) { i += 8; } else if (wire === 5) { i += 4; } else { return; }
    }
  };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);  // this listener comes before Streamlit's own, so a message is counted before it is drawn
      this.addEventListener('message', (event) => { if (event.data instanceof ArrayBuffer) scan(event.data); });
    }
  };
  window.__REACT_DEVTOOLS_GLOBAL_HOOK__ = {
    isDisabled: false, supportsFiber: true, renderers: new Map(),
    inject(renderer) { const id = this.renderers.size + 1; this.renderers.set(id, renderer); return id; },
    onCommitFiberRoot() { runs.commits += 1; },
    onScheduleFiberRoot() {}, onCommitFiberUnmount() {}, onPostCommitFiberRoot() {}, checkDCE() {}, setStrictMode() {},
  };
})();
"""
# No run in progress, and React has drawn since the last run started or ended.
SETTLED = """() => {
  const runs = window.__accordRuns, app = document.querySelector("[data-testid='stApp']");
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
      && runs.started === runs.ended && runs.commits > runs.commitsAtMessage;
}"""


def unavailable() -> str | None:
    """Why the browser tier cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    if not Path(CHROMIUM).exists():
        return "Debian chromium is not installed (apt-get install -y chromium)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` on a free port against one database file; ready once /_stcore/health says ok."""

    def __init__(self, db_path: Path | str, extra_env: dict[str, str] | None = None, *, port: int | None = None,
                 args: tuple[str, ...] = (), log_path: Path | None = None):
        self.port = port or free_port()
        env = dict(os.environ, ACCORD_DB_PATH=str(db_path), PYTHONUNBUFFERED="1", **(extra_env or {}))
        self.log_path = log_path or Path(db_path).with_suffix(".log")  # a DuckLake target names its own log
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             # nothing to reload in a test; other work in the tree must not reach a running test server
             "--server.fileWatcherType", "none", "--server.runOnSave", "false", *args],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            self._wait_healthy(time.monotonic() + SERVER_START_SECONDS)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, deadline: float) -> None:
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=5) as answer:
                    if answer.read().decode().strip() == "ok":
                        return
            except (urllib.error.URLError, OSError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {SERVER_START_SECONDS} s; see {self.log_path}")
            try:  # the pause between two polls is a wait on the process: a crash ends it at once
                self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"streamlit exited with code {self.proc.returncode}; see {self.log_path}:\n"
                               + self.log_path.read_text()[-2000:])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def new_context(browser: Browser) -> BrowserContext:
    """A browser context whose pages count their script runs and wait up to TIMEOUT by default."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT)
    context.add_init_script(RUN_WATCH)
    return context


def wait_idle(page: Page) -> None:
    """Wait until no script run is in progress and the page shows the last one's end. After an action that
    starts a run, use `reruns` instead: the run may not have begun yet, and then this returns at once."""
    _wait(page, SETTLED, None, "the app to finish its script run")


def _wait(page: Page, condition: str, arg: object, what: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:  # polled on a timer, not on animation frames, which stop in a page the browser deems hidden
        page.wait_for_function(condition, arg=arg, polling=100, timeout=TIMEOUT)
    except PlaywrightTimeout:
        runs = page.evaluate("window.__accordRuns")
        raise AssertionError(f"waited {TIMEOUT // 1000} s for {what}; script runs seen: {runs}") from None


@contextmanager
def reruns(page: Page, count: int = 1) -> Iterator[None]:
    """`with reruns(page): <a widget change>` waits until `count` script runs started after the change ended
    and the page shows it.

    For an action Streamlit answers with a rerun (a selectbox or radio change, a button outside a form, a
    committed input). An action that starts no run (a tab without on_change, typing before Enter) must not
    be wrapped: wait for what it shows instead (expect_text)."""
    wait_idle(page)
    before = page.evaluate("window.__accordRuns.completed")
    yield
    _wait(page, "n => window.__accordRuns.completed >= n", before + count, f"{count} script run(s) after the action")
    wait_idle(page)


def open_page(context: BrowserContext, server: Server, slug: str) -> Page:
    """Open the page `slug` in a new tab and wait until its first run ended with its title drawn."""
    from core.navigation import available_pages

    pages = available_pages()
    spec = next(p for p in pages if p.url_path == (slug or pages[0].url_path))
    page = context.new_page()
    page.goto(f"{server.url}/{slug}")  # every page, the first too, has its own address (app.py)
    expect(page.locator("h1").filter(has_text=spec.title).first).to_be_visible(timeout=TIMEOUT)
    wait_idle(page)
    return page


def pick_period(page: Page, label: str, title: str = "Overview") -> None:
    """Choose `label` in the sidebar's Period picker and wait until the page `title` shows it."""
    # Under st.navigation, Streamlit 1.67 drops the first change of a sidebar widget after the default page
    # was opened at "/" (that rerun gets the default back; later changes stick), so pick again when the
    # first did not apply. `reruns` waits for the run to end, so the heading read after it is final.
    # The list is long and drawn only around the selection, so the label is typed to bring its option up.
    heading = page.locator("h1").filter(has_text=f"{title} · {label}")
    for _ in range(2):
        page.locator("[data-testid='stSidebar']").get_by_role("combobox", name="Period").click()
        page.keyboard.type(label)
        with reruns(page):
            page.get_by_role("option", name=label, exact=True).click()
        if heading.is_visible():
            return
    expect(heading).to_be_visible()


def main(page: Page) -> Locator:
    return page.locator(MAIN)


def expect_text(page: Page, *texts, absent: tuple = ()) -> None:
    """Wait until the main area shows every one of `texts` (strings or compiled patterns) and none of
    `absent`; visible text only, as a reader sees it."""
    for text in texts:
        expect(main(page)).to_contain_text(text, use_inner_text=True, timeout=TIMEOUT)
    for text in absent:
        expect(main(page)).not_to_contain_text(text, use_inner_text=True, timeout=TIMEOUT)


def expect_charts(page: Page, at_least: int = 1) -> None:
    """Wait until at least `at_least` charts are drawn and visible (Vega draws after the script run ends)."""
    expect(page.locator(CHART).filter(visible=True).nth(at_least - 1)).to_be_visible(timeout=TIMEOUT)


def open_tab(page: Page, name: str, shows: str) -> None:
    """Click the tab `name` and wait until it shows `shows`. Tabs with on_change='rerun' draw their content
    in a new run, other tabs only show what is already drawn: the text is the one condition for both."""
    page.get_by_role("tab", name=name).click()
    expect_text(page, shows)
    wait_idle(page)


def download_text(page: Page, button: Locator) -> str:
    """Click a download button and return the downloaded file's text."""
    with page.expect_download(timeout=TIMEOUT) as info:
        button.click()
    return Path(info.value.path()).read_text(encoding="utf-8")


def assert_clean(page: Page, name: str) -> None:
    """No exception element, no traceback text; a screenshot when ACCORD_SCREENSHOTS names a folder."""
    wait_idle(page)
    shots = os.environ.get("ACCORD_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    content = page.content()
    assert "Traceback" not in content
    assert "Page not found" not in content
