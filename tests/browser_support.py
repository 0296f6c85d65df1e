"""Helpers of the browser tier: a `streamlit run` server on a free port and Playwright page helpers.

Fixtures built on these live in conftest.py (`browser`, `tiny_server`, `server_for`)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def unavailable() -> str | None:
    """Why the browser tier cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    if not Path(CHROMIUM).exists():
        return "Debian chromium is not installed (apt-get install -y chromium)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py --server.headless true` on a free port, against one database file."""

    def __init__(self, db_path: Path, extra_env: dict[str, str] | None = None):
        self.port = _free_port()
        env = dict(os.environ, ACCORD_DB_PATH=str(db_path), PYTHONUNBUFFERED="1", **(extra_env or {}))
        self.log = open(db_path.with_suffix(".log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"streamlit did not start; see {self.log.name}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def wait_idle(page) -> None:
    """Wait until the script run finished (twice, so a rerun triggered by the first is waited for too)."""
    page.wait_for_selector(IDLE, timeout=90_000)
    page.wait_for_timeout(400)
    page.wait_for_selector(IDLE, timeout=90_000)


def open_page(browser, server: Server, slug: str):
    from core.navigation import available_pages

    # the default page lives at "/": once navigation is up, its slug alone is "page not found"
    path = "" if slug == available_pages()[0].url_path else slug
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server.url}/{path}")
    wait_idle(page)
    return page


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def assert_clean(page, name: str) -> None:
    """No exception element, no traceback text; a screenshot when ACCORD_SCREENSHOTS names a folder."""
    shots = os.environ.get("ACCORD_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in page.content()
    assert "Page not found" not in page.content()
