"""The meeting digest (issue 14, item 5) on the tiny world: its figures are the report's, its files open
as what they claim to be, and the command line writes them or says plainly why not."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from core.digest import build_digest, period_is_empty, render, shown, to_html
from core.periods import parse_period
from core.report import build_report

ROOT = Path(__file__).resolve().parents[1]
Q3, AS_OF = parse_period("2026-Q3"), datetime(2026, 8, 15, 12, 0)


def test_the_digest_figures_are_the_reports(tiny):
    digest = build_digest(tiny, Q3, AS_OF, with_charts=False)
    assert digest.report == build_report(tiny, Q3, AS_OF)
    lines = dict(line for _, section in shown(digest.sections) for line in section)
    # the tiny world's hand-checked headline (tests/test_metrics.py): goal $100k, won $35k, compliance 50%
    assert (lines["Revenue goal"], lines["Won revenue"], lines["Attainment"]) == ("$100k", "$35k", "35.0%")
    assert lines["SLA compliance"] == "50.0%" and lines["Stalled deals"] == "2"


def test_the_html_is_self_contained_and_escapes_what_people_typed(tiny):
    from core import edits
    from core.models import Actor, GoalBody

    edits.save(tiny, "goal", "2026-Q3", GoalBody(revenue=120_000), actor=Actor(name="<b>Eve</b>", team="sales"),
               reason="<script>alert(1)</script> board plan", expected_version=1, as_of=AS_OF)
    page = to_html(build_digest(tiny, Q3, AS_OF))
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; board plan" in page
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "default-src 'none'" in page  # nothing may be fetched: the page works offline
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert page.count("<svg") >= 2  # charts inline


def test_pdf_and_png_are_drawn_offline(tiny):
    digest = build_digest(tiny, Q3, AS_OF)
    assert render(digest, "pdf").startswith(b"%PDF")
    assert render(digest, "png").startswith(b"\x89PNG")


def test_a_period_without_data_is_said_plainly(tiny):
    assert period_is_empty(tiny, Q3, AS_OF) is None
    assert period_is_empty(tiny, parse_period("2019-Q1"), AS_OF).startswith("Nothing to digest for 2019-Q1")
    assert "starts after" in period_is_empty(tiny, parse_period("2027-Q1"), AS_OF)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_writes_the_digest_and_refuses_an_empty_period(tiny_db_file, tmp_path):
    out = tmp_path / "q3.html"
    done = _cli("digest", "--db", str(tiny_db_file), "--period", "2026-Q3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and out.read_text().startswith("<!doctype html>")
    report = json.loads(_cli("report", "--db", str(tiny_db_file), "--period", "2026-Q3").stdout)
    assert f"<b>{'$100k'}</b>" in out.read_text() and report["goal"]["revenue"] == 100_000

    empty = _cli("digest", "--db", str(tiny_db_file), "--period", "2019-Q1", "--out", str(tmp_path / "x.pdf"))
    assert empty.returncode == 2 and not (tmp_path / "x.pdf").exists()
    assert empty.stderr.startswith("error: Nothing to digest for 2019-Q1: no lead or deal was created in it")
    assert len(empty.stderr.strip().splitlines()) == 1

    wrong = _cli("digest", "--db", str(tiny_db_file), "--period", "2026-Q3", "--out", str(tmp_path / "x.docx"))
    assert wrong.returncode == 2 and "written as .html, .pdf or .png" in wrong.stderr


@pytest.mark.parametrize("fmt_name", ["html", "pdf", "png"])
def test_every_format_renders_on_an_empty_database(empty, fmt_name):
    # nothing to show is said, never a crash: the app offers the digest whatever the data
    assert render(build_digest(empty, Q3, AS_OF), fmt_name)
