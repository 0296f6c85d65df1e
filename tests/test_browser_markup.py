"""Browser tier for issue 11, item 6: the corpus world of tests/test_markup.py (markdown images and links, HTML,
<script>, emphasis, colour directives, icons, math, code, headings and formula cells in names, reasons,
segments, proposals and an import) served by the app and opened in Chromium — every page and tab, every
expander open, an upload whose file name is markup. Nothing renders as markup, the browser asks nothing of
anyone but the app, the tables' toolbar has no CSV export of its own, and the app's download neutralises
formula cells."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from browser_support import (
    MAIN,
    SERVER_START_SECONDS,
    TIMEOUT,
    Server,
    assert_clean,
    download_text,
    expect,
    expect_text,
    open_page,
    open_tab,
    reruns,
    wait_idle,
)
from core.export import WORD_JOINER, plain_markdown
from core.models import DEMO_PERSONAS
from core.navigation import pages_for
from test_markup import EVERYTHING, FORMULAS, corpus_world, markup_corpus

ROOT = Path(__file__).resolve().parents[1]

# Tabs and what each shows once drawn (the condition open_tab waits for).
TABS = {
    "goals": [("What-if", "Nothing here is saved."), ("Set the goal", "Save goal"),
              ("History", "Download the history (CSV)")],
    "sla": [("Sales by team and rep", "Compliance by team"), ("Weekly trend", "ISO weeks"),
            ("Marketing's side", "Quality leads delivered vs committed"), ("Breach list", "match;"),
            ("SLA policy", "Save new version")],
    "pipeline": [("Funnel", "By segment"), ("Gap to goal", "Targets come from the shared goal"),
                 ("Pipeline health", "Movement in the period"), ("Gap decomposition", "What each step means")],
}

# Markup that only a value rendered as Markdown can produce inside a Markdown container (the app's own Markdown
# uses bold, lists and inline code, never these), and the texts the corpus would give bold or code.
FOREIGN_MARKUP = """([main]) => {
  const root = document.querySelector(main);
  const found = [];
  for (const img of root.querySelectorAll('img')) {
    const src = img.getAttribute('src') || '';
    if (!src.startsWith('data:')) found.push('img ' + src);
  }
  for (const a of root.querySelectorAll('a[href]')) {
    const href = a.getAttribute('href');
    if (!href.startsWith('#')) found.push('a ' + href);  // Streamlit's heading anchors only
  }
  const md = ':is([data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"]) ';
  for (const el of root.querySelectorAll(md + ':is(.katex, del, blockquote, pre, [role="img"], '
                                         + '.stMarkdownColoredText, .stMarkdownColoredBackground, .stMarkdownBadge)'))
    found.push(el.tagName + ' ' + el.className + ' ' + el.textContent);
  for (const el of root.querySelectorAll(md + ':is(h1, h2, h3, h4, h5, h6)'))  // but st.title and st.subheader's
    if (!el.closest('[data-testid="stHeading"]')) found.push(el.tagName + ' ' + el.textContent);
  for (const el of root.querySelectorAll(md + ':is(strong, em, code)'))
    if (['bold', 'code', 'alert', 'link'].includes(el.textContent.trim())) found.push(el.tagName + ' ' + el.textContent);
  return found;
}"""


@pytest.fixture
def trap_port():
    """A port bound on loopback but never listening: nothing answers there and nothing else can take it, so a
    corpus image pointing at it shows up as a request to it and nowhere else."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.fixture
def corpus_server(server_for, tiny_db_file, tmp_path, trap_port):
    path = tmp_path / "corpus.duckdb"
    shutil.copy(tiny_db_file, path)
    facts = corpus_world(path, trap_port)
    return server_for(path), facts


def as_displayed(value: str) -> str:
    """What a value passed through ui.widgets.plain reads as on screen: itself, with the invisible word joiners
    that break autolinks and icons."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", plain_markdown(value))


def assert_plain(page, where: str) -> None:
    wait_idle(page)
    assert page.evaluate(FOREIGN_MARKUP, [MAIN]) == [], where


# The drill-downs (ui.widgets.drill_down) compute their records only once open: opening one reruns the page.
DRILL_DOWNS = ("Records behind a figure", "Records behind a gap", "Deals behind a row")


def open_every_expander(page) -> None:
    closed = page.locator(f"{MAIN} [data-testid='stExpander'] details:not([open]) > summary").filter(visible=True)
    for _ in range(closed.count()):
        summary = closed.first
        if any(label in summary.inner_text() for label in DRILL_DOWNS):
            with reruns(page):
                summary.click()
        else:
            summary.click()  # opening any other expander starts no run: its content is drawn already
    expect(closed).to_have_count(0)


def test_every_page_renders_the_corpus_as_text_and_fetches_nothing(browser, corpus_server, trap_port):
    server, facts = corpus_server
    requests: list[str] = []

    def record(request) -> None:
        requests.append(request.url)

    browser.on("request", record)  # the whole context, so each page's first load is in
    try:
        for spec in pages_for(DEMO_PERSONAS[0]):
            page = open_page(browser, server, spec.url_path)
            assert_clean(page, f"markup-{spec.url_path}")
            assert_plain(page, spec.url_path)
            for tab, shows in TABS.get(spec.url_path, ()):
                open_tab(page, tab, shows)
                assert_clean(page, f"markup-{spec.url_path}-{tab}")
                open_every_expander(page)
                assert_plain(page, f"{spec.url_path} / {tab}")
            open_every_expander(page)
            assert_plain(page, f"{spec.url_path}, expanders open")
            if spec.url_path == "goals":  # the goal's reason, in the version line (st.text), as typed
                expect_text(page, facts["reasons"]["goal"])
            if spec.url_path == "quality":  # the pending proposal's reason, as typed
                expect_text(page, f"Why: {facts['reasons']['proposal']}")
            page.close()
    finally:
        browser.remove_listener("request", record)

    own = f"127.0.0.1:{server.port}"
    assert not [u for u in requests if urlparse(u).port == trap_port]  # the corpus image was never fetched
    foreign = [u for u in requests if urlparse(u).netloc != own and urlparse(u).scheme not in ("data", "blob")]
    assert foreign == []  # the favicon is local too (ui/favicon.png): nothing leaves the machine
    assert any(urlparse(u).netloc == own for u in requests)  # the listener saw the app's own requests


def test_a_decision_naming_the_proposer_is_announced_as_text(browser, corpus_server, trap_port):
    """The pending proposal was made by someone named with an image and a link; rejecting it says so."""
    server, facts = corpus_server
    requests: list[str] = []

    def record(request) -> None:
        requests.append(request.url)

    browser.on("request", record)
    try:
        page = open_page(browser, server, "quality")
        note = page.get_by_label("Note (required to reject)", exact=True)
        with reruns(page):
            note.fill("Not this quarter")
            note.press("Enter")
        page.get_by_role("button", name="Reject", exact=True).click()
        said = page.locator(f"{MAIN} [data-testid='stAlert']").filter(has_text="Rejected ")
        expect(said).to_have_count(1)  # the flash of the run after the rejection
        assert_clean(page, "markup-quality-rejected")
        assert_plain(page, "quality after the rejection")
        expect(said).to_contain_text(f"Rejected {as_displayed(facts['people']['proposer'].name)}'s proposal.")
    finally:
        browser.remove_listener("request", record)
    assert not [u for u in requests if urlparse(u).port == trap_port]


def test_an_upload_named_with_markup_is_reported_as_text(browser, corpus_server, trap_port):
    server, facts = corpus_server
    corpus = facts["corpus"]
    requests: list[str] = []

    def record(request) -> None:
        requests.append(request.url)

    name = f"{corpus['image']} {corpus['bold']} {corpus['colour']}.csv"
    content = (f"lead_id,created_at,source,status\nL95,2026-07-09 00:00,{corpus['html']},open\n"
               f"=1+2,{corpus['script']},{corpus['math']},open\n")
    browser.on("request", record)
    try:
        page = open_page(browser, server, "import_data")
        page.locator(f"{MAIN} input[type='file']").set_input_files(
            [{"name": name, "mimeType": "text/csv", "buffer": content.encode()}])
        button = page.get_by_role("button", name="Import", exact=True)
        expect(button).to_be_enabled()  # the upload reached the server (a run)
        button.click()
        # the summary after the import's rerun; its messages quote the file name as typed (st.text)
        expect_text(page, "Imported with the accord preset: 1 rows loaded",
                    f"{name}: 1 row(s) quarantined; see the quarantine list for line and reason.")
        assert_clean(page, "markup-import-upload")
        open_every_expander(page)
        assert_plain(page, "import page after the upload")
    finally:
        browser.remove_listener("request", record)
    assert not [u for u in requests if urlparse(u).port == trap_port]


def test_no_table_exports_by_itself_and_the_app_download_is_neutral(browser, corpus_server):
    server, _ = corpus_server
    page = open_page(browser, server, "quality")
    # the proposal's diff, the back-test and the history draw their toolbars (shown on hover) with the table
    toolbars = page.locator(f"{MAIN} [data-testid='stElementToolbar']")
    expect(toolbars.get_by_role("button", name="Search").nth(2)).to_be_attached()  # the toolbars are there…
    expect(toolbars.get_by_role("button", name="Download as CSV")).to_have_count(0)  # …without their CSV export
    page.close()

    page = open_page(browser, server, "sla")
    open_tab(page, "Breach list", "match;")
    button = page.get_by_role("button", name=re.compile(r"^Download all [\d,]+ as CSV$"))
    expect(button).to_have_count(1)
    text = download_text(page, button)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["lead_id", "company", "issue"]
    cells = [cell for row in rows for cell in row]
    # L2 and L3 are on the list: their companies are formulas, written with a leading apostrophe
    assert "'" + FORMULAS[1] in cells and "'" + FORMULAS[2] in cells
    for cell in cells:  # nothing else starts like a formula, but numbers (a negative figure is data)
        if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert re.fullmatch(r"-\d+(\.\d+)?", cell), cell


# --- the escaping function against Streamlit's own renderer ----------------------------------------------------

RENDER_EVERY_KIND = """
import sys
sys.path.insert(0, {root!r})
import json
import streamlit as st
from ui.widgets import plain

values = json.loads({values!r})
for i, value in enumerate(values):
    text = plain(value)
    with st.container(key=f"v{{i}}"):
        st.markdown(text)
        st.caption(text)
        st.info(text)
        with st.expander(text):
            st.write("inside")
        st.tabs([text, "other"])
        st.metric(text, 1, delta=text, help=text)
        st.selectbox(text, ["a"], key=f"s{{i}}", help=text)
        st.radio("Radio", [text, "b"], key=f"r{{i}}")
        st.button(text, key=f"b{{i}}")
        st.progress(0.5, text=text)
        st.subheader(text)
    if i < 3:
        st.toast(text, duration="infinite")
st.container(key="done").write("done")
"""


class ScriptServer(Server):
    """`streamlit run` of one script of the test's own (not app.py) on a free loopback port."""

    def __init__(self, script: Path):  # not super().__init__: that starts app.py
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log_path = script.with_suffix(".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=script.parent, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            self._wait_healthy(time.monotonic() + SERVER_START_SECONDS)
        except BaseException:
            self.stop()
            raise


# Words of the rendering script itself (and hidden elements' ""), not of the value under test.
SCRIPT_WORDS = ("", "1", "inside", "other", "Radio", "a", "b")


def test_plain_text_reads_as_typed_in_every_kind_of_element(browser, tmp_path, trap_port):
    """Each corpus value through ui.widgets.plain into every Markdown element Streamlit has (markdown, caption,
    alert, expander and tab labels, metric label, delta and help, widget label and help, radio option, button,
    progress text, subheader, toast): nothing but its text, character for character."""
    values = [*markup_corpus(trap_port).values(), *EVERYTHING]
    script = tmp_path / "render_every_kind.py"
    script.write_text(RENDER_EVERY_KIND.format(root=str(ROOT), values=json.dumps(values)))
    server = ScriptServer(script)
    requests: list[str] = []

    def record(request) -> None:
        requests.append(request.url)

    browser.on("request", record)
    try:
        page = browser.new_page()
        page.goto(server.url)
        expect(page.locator(".st-key-done")).to_be_visible()
        wait_idle(page)
        assert page.evaluate(FOREIGN_MARKUP, [MAIN]) == []
        expect(page.get_by_test_id("stToast")).to_have_count(3)
        assert page.evaluate(FOREIGN_MARKUP, ["[data-testid='stToastContainer']"]) == []
        for i, value in enumerate(values):
            # every Markdown container in the value's box: its text, less the script's own words (and hidden ones' "")
            boxes = (f".st-key-v{i} :is([data-testid='stMarkdownContainer'], "
                     "[data-testid='stCaptionContainer'])")
            # the box's elements draw after "done" under load (8 of 12 seen): wait until all twelve show text
            page.wait_for_function(
                "([sel, skip]) => [...document.querySelectorAll(sel)].map(e => e.innerText.trim())"
                ".filter(t => !skip.includes(t)).length >= 12",
                arg=[boxes, list(SCRIPT_WORDS)], polling=100, timeout=TIMEOUT)
            shown = page.locator(boxes).evaluate_all("els => els.map(e => e.innerText.trim())")
            texts = [t.replace(WORD_JOINER, "") for t in shown if t not in SCRIPT_WORDS]
            # markdown, caption, alert, expander, tab, metric label and delta, selectbox label, radio option,
            # button, progress text, subheader (tooltips are drawn on hover only)
            assert len(texts) == 12, (value, texts)
            assert set(texts) == {re.sub(r"\s+", " ", value).strip()}, (value, texts)
    finally:
        browser.remove_listener("request", record)
        server.stop()
    assert not [u for u in requests if urlparse(u).port == trap_port]
    assert not [u for u in requests if urlparse(u).netloc != f"127.0.0.1:{server.port}"
                and urlparse(u).scheme not in ("data", "blob")]
