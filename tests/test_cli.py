"""The command line's contract, run as a person runs it (`python -m core ...` in a subprocess): JSON (and
only JSON) on standard output, valid even when a figure is not finite; every bad argument exits 2 with one
line on standard error; an import never silently mixes demo and real records."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from core.db import get_meta
from core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
LEADS_CSV = (
    "lead_id,created_at,source,status,score,company\n"
    "R1,2026-09-01 10:00:00,email,open,50,Acme\n"
    "R2,2026-09-02 11:00:00,paid_search,open,70,Beta\n"
    "R3,2026-09-03 12:00:00,events,accepted,,Gamma\n"
)
PRESETS = "accord, hubspot, salesforce, olist, maven, xeducation"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def _strict_json(text: str):
    """json.loads that refuses Infinity and NaN, as any strict JSON reader does."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _one_line(out: subprocess.CompletedProcess) -> str:
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr and "unexpected" not in out.stderr
    return lines[0]


# ---------------------------------------------------------------------------------------------- report


def test_report_prints_only_json(tiny_db_file):
    out = _cli("report", "--db", str(tiny_db_file), "--period", "2026-Q3")
    assert out.returncode == 0, out.stderr
    report = _strict_json(out.stdout)
    assert report["as_of"] == "2026-08-15T12:00:00"  # the data's as-of, stored with it
    assert report["funnel"]["quality_leads"] == 5
    assert report["pipeline"]["coverage"] == pytest.approx(42_000 / 65_000)


def test_report_splits_routing_from_response_and_gives_the_distribution(tiny_db_file):
    out = _cli("report", "--db", str(tiny_db_file), "--period", "2026-Q3")
    assert out.returncode == 0, out.stderr
    sla = _strict_json(out.stdout)["sla"]
    # routing (created → assigned, by as-of 08-15 12:00): L3 0 h, L1 1 h, L4 6 h → median 1; p90 at rank
    # 0.9 × 2 = 1.8 → 1 + 0.8 × 5 = 5.0 (L2 and L6 were never assigned)
    assert sla["median_routing_hours"] == 1.0
    assert sla["p90_routing_hours"] == pytest.approx(5.0)
    # touched quality leads: L6 2 h, L1 24 h (exactly: inclusive), L2 27 h (L4's touch is after as-of)
    assert (sla["within_5m_share"], sla["within_1h_share"]) == (0.0, 0.0)
    assert sla["within_24h_share"] == pytest.approx(2 / 3)
    assert sla["median_hours_to_first_touch"] == 24.0  # the response side, unchanged


def test_report_says_why_routing_delay_cannot_be_computed(tiny_db_copy):
    con = duckdb.connect(str(tiny_db_copy))
    con.execute("UPDATE leads SET assigned_at = NULL")
    con.close()
    out = _cli("report", "--db", str(tiny_db_copy), "--period", "2026-Q3")
    assert out.returncode == 0, out.stderr
    sla = _strict_json(out.stdout)["sla"]
    assert (sla["median_routing_hours"], sla["p90_routing_hours"]) == (None, None)
    assert any(n.startswith("Routing delay cannot be computed because no lead in the data records when it was "
                            "handed to sales") for n in sla["notes"])
    assert sla["within_24h_share"] is not None  # the response side does not need assignment times


def test_report_gives_the_landing_estimate_and_its_range(tiny_db_file):
    out = _cli("report", "--db", str(tiny_db_file), "--period", "2026-Q3")
    assert out.returncode == 0, out.stderr
    forecast = _strict_json(out.stdout)["forecast"]
    assert set(forecast) == {"landing", "low", "high", "notes"}
    # won $35,000 + open deals weighted 0 + 7/90 a day × D9's 20,000 × (46.5 − 40) days ÷ 3 deals (tests/test_app.py)
    new = 7 / 90 * 20_000 * 6.5 / 3
    assert forecast["landing"] == pytest.approx(35_000 + new)
    assert forecast["low"] == 35_000  # never below what is already won
    assert forecast["high"] == pytest.approx(35_000 + new + 1.2815515655446004 * (7 / 90 * 20_000**2 * 6.5 / 3) ** 0.5)
    assert forecast["notes"] == ["Only 2 earlier quarters could be back-tested (at least 4 are needed), so the range is "
                                 "the 10th–90th percentile of a normal approximation: each open deal wins with its "
                                 "stage's rate and new deals arrive at the recent rate."]


def test_report_of_a_period_not_started_has_no_landing(tiny_db_file):
    out = _cli("report", "--db", str(tiny_db_file), "--period", "2026-Q4")
    assert out.returncode == 0, out.stderr
    forecast = _strict_json(out.stdout)["forecast"]
    assert (forecast["landing"], forecast["low"], forecast["high"]) == (None, None, None)
    assert forecast["notes"] == ["2026-Q4 has not started by as-of, so there is no landing estimate yet."]


def test_report_at_the_edges_of_the_date_range(tiny_db_file):
    for period, as_of in (("1900-Q1", "1900-01-01"), ("2200-Q4", "2200-12-31T23:59:59"), ("2026-Q3", "1900-01-01")):
        out = _cli("report", "--db", str(tiny_db_file), "--period", period, "--as-of", as_of)
        assert out.returncode == 0, out.stderr
        report = _strict_json(out.stdout)
        assert (report["period"]["label"], report["as_of"][:10]) == (period, as_of[:10])


@pytest.fixture
def huge_amounts(tiny_db_copy) -> Path:
    """The tiny world with four deals (two won, two open in 2026-Q3) declaring 1e308: their sums overflow."""
    con = duckdb.connect(str(tiny_db_copy))
    con.execute("UPDATE deals SET amount = 1e308 WHERE deal_id IN ('D1', 'D3', 'D2', 'D4')")
    con.close()
    return tiny_db_copy


def test_report_json_has_no_infinity_or_nan(huge_amounts):
    out = _cli("report", "--db", str(huge_amounts), "--period", "2026-Q3")
    assert out.returncode == 0, out.stderr
    assert "Infinity" not in out.stdout and "NaN" not in out.stdout
    report = _strict_json(out.stdout)
    goal, pipeline = report["goal"], report["pipeline"]
    assert goal["revenue"] == 100_000  # the goal itself is fine
    assert goal["won_revenue"] is None and goal["attainment"] is None
    assert "Won revenue is not a finite number: an amount in the data is too large." in goal["notes"]
    assert "Attainment is not a finite number: an amount in the data is too large." in goal["notes"]
    assert pipeline["open_amount"] is None
    assert "Open amount is not a finite number: an amount in the data is too large." in pipeline["notes"]
    assert pipeline["stalled_deals"] == 2 and pipeline["win_rate"] == pytest.approx(0.6)  # counts are unaffected
    assert report["funnel"]["won"] == 1 and report["funnel"]["notes"] == []


def test_report_dict_replaces_every_non_finite_figure(huge_amounts):
    import numpy as np

    from core.periods import parse_period
    from core.report import headline, report_dict

    con = open_store(huge_amounts)
    try:
        period, as_of = parse_period("2026-Q3"), datetime(2026, 8, 15, 12)
        h = headline(con, period, as_of)
    finally:
        con.close()
    h.sla.compliance = float("nan")
    h.sla.median_hours_to_first_touch = np.float64("inf")
    h.funnel.leads = np.int64(8)
    report = report_dict(h, period, as_of)
    assert report["sla"]["compliance"] is None and report["sla"]["median_hours_to_first_touch"] is None
    assert report["sla"]["notes"][-2:] == [
        "Compliance is not a finite number: a value in the data is too large to compute with.",
        "Median hours to first touch is not a finite number: a value in the data is too large to compute with.",
    ]
    assert report["funnel"]["leads"] == 8 and type(report["funnel"]["leads"]) is int
    _strict_json(json.dumps(report, allow_nan=False))


# ---------------------------------------------------------------------------------------- bad arguments


@pytest.fixture
def places(tiny_db_file, tmp_path) -> dict[str, str]:
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    (tmp_path / "folder").mkdir()
    return {"{db}": str(tiny_db_file), "{missing}": str(tmp_path / "none.duckdb"), "{junk}": str(junk),
            "{folder}": str(tmp_path / "folder"), "{new}": str(tmp_path / "new.duckdb"),
            "{nothere}": str(tmp_path / "nothere.csv")}


REPORT = ["report", "--db", "{db}", "--period", "2026-Q3"]
RANGE_AS_OF = "is out of range: use a moment from 1900 to 2200."


@pytest.mark.parametrize("args, line", [
    (["report", "--db", "{db}", "--period", "9999-Q4"],
     "error: Period '9999-Q4' is out of range: use a year from 1900 to 2200."),
    (["report", "--db", "{db}", "--period", "0000-Q1"],
     "error: Period '0000-Q1' is out of range: use a year from 1900 to 2200."),
    (["report", "--db", "{db}", "--period", "2026-Q9"],
     "error: Unknown period '2026-Q9': use a quarter like 2026-Q3 or a month like 2026-08."),
    ([*REPORT, "--as-of", "0001-01-01"], f"error: As-of '0001-01-01' {RANGE_AS_OF}"),
    ([*REPORT, "--as-of", "9999-12-31T23:59"], f"error: As-of '9999-12-31T23:59' {RANGE_AS_OF}"),
    ([*REPORT, "--as-of", "0001-01-01T00:00+01:00"], f"error: As-of '0001-01-01T00:00+01:00' {RANGE_AS_OF}"),
    ([*REPORT, "--as-of", "soon"],
     "error: Unreadable as-of 'soon': use an ISO date or time such as 2026-09-30T12:00."),
    (["report", "--db", "{missing}", "--period", "2026-Q3"],
     "error: Database file not found: {missing}. Build one with: python -m core demo --db {missing}"),
    (["report", "--db", "{folder}", "--period", "2026-Q3"], "error: {folder} is a folder, not a DuckDB database file."),
    (["report", "--period", "2026-Q3", "--db"],
     "error: argument --db: expected one argument (see: python -m core report --help)"),
    (["report", "--db", "{db}"],
     "error: the following arguments are required: --period (see: python -m core report --help)"),
    ([*REPORT, "--bogus"], "error: unrecognized arguments: --bogus (see: python -m core --help)"),
    ([], "error: the following arguments are required: command (see: python -m core --help)"),
    (["demo", "--db", "{new}", "--leads", "0"],
     "error: argument --leads: must be at least 1 (got 0) (see: python -m core demo --help)"),
    (["demo", "--db", "{new}", "--leads", "-5"],
     "error: argument --leads: must be at least 1 (got -5) (see: python -m core demo --help)"),
    (["demo", "--db", "{new}", "--leads", "many"],
     "error: argument --leads: 'many' is not a whole number (see: python -m core demo --help)"),
    (["demo", "--db", "{new}", "--seed", "-1"],
     "error: argument --seed: must be at least 0 (got -1) (see: python -m core demo --help)"),
    (["demo", "--db", "{new}", "--as-of", "0001-01-01"], f"error: As-of '0001-01-01' {RANGE_AS_OF}"),
    (["demo", "--db", "{folder}", "--leads", "10"], "error: {folder} is a folder, not a DuckDB database file."),
    (["demo", "--db", "{junk}", "--leads", "10"],
     "error: {junk} exists and is not a DuckDB database: refusing to overwrite it with the demo."),
    (["import", "--db", "{new}", "--preset", "nope", "{folder}"],
     f"Import failed: Unknown import preset 'nope': choose one of {PRESETS}."),
    (["import", "--db", "{new}", "--preset", "accord", "{nothere}"], "Import failed: {nothere}: no such file or folder."),
    (["import", "--db", "{new}", "--preset", "accord"],
     "error: the following arguments are required: paths (see: python -m core import --help)"),
    (["import", "--db", "{new}", "--preset", "accord", "--append", "--replace-demo", "{nothere}"],
     "error: argument --replace-demo: not allowed with argument --append (see: python -m core import --help)"),
])
def test_bad_arguments_exit_2_with_one_line(args, line, places):
    def fill(text: str) -> str:
        for key, value in places.items():
            text = text.replace(key, value)
        return text

    out = _cli(*map(fill, args))
    assert out.returncode == 2, out.stderr
    assert _one_line(out) == fill(line)
    if args and args[0] == "import" and line.startswith("Import failed"):
        assert _strict_json(out.stdout) == {"ok": False, "error": fill(line).removeprefix("Import failed: ")}
    else:
        assert out.stdout == ""
    assert not Path(places["{new}"]).exists()  # nothing was created on the way to the refusal


@pytest.mark.parametrize("command", [REPORT, ["import", "--db", "{db}", "--preset", "accord", "{csv}"]])
def test_a_file_that_is_not_a_duckdb_database(command, places, tmp_path):
    (tmp_path / "leads.csv").write_text(LEADS_CSV)
    args = [{**places, "{db}": places["{junk}"], "{csv}": str(tmp_path / "leads.csv")}.get(a, a) for a in command]
    out = _cli(*args)
    assert out.returncode == 2
    prefix = "Import failed: " if command[0] == "import" else "error: "
    assert _one_line(out).startswith(f"{prefix}{places['{junk}']} could not be opened as a DuckDB database (")


def test_an_unwritable_place_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, so nothing can be created under it")
    out = _cli("demo", "--db", str(blocker / "x.duckdb"), "--leads", "10")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith(f"error: {blocker}")  # progress lines come first
    assert "Traceback" not in out.stderr and "unexpected" not in out.stderr


# ------------------------------------------------------------------------------------- demo and import


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    from core.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(path, leads=300, seed=7, as_of=datetime(2026, 9, 30, 12))
    return path


@pytest.fixture
def demo_copy(demo_file, tmp_path) -> Path:
    target = tmp_path / "accord.duckdb"
    shutil.copy(demo_file, target)
    return target


@pytest.fixture
def real_files(tmp_path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "leads.csv").write_text(LEADS_CSV)
    return folder


def _state(path: Path) -> tuple[int, str | None, str | None]:
    """(leads, is_demo, source) of the database at path."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM leads").fetchone()[0], get_meta(con, "is_demo"), get_meta(con, "source")
    finally:
        con.close()


def test_import_into_the_demo_is_refused_without_a_choice(demo_copy, real_files):
    out = _cli("import", "--db", str(demo_copy), "--preset", "accord", str(real_files))
    assert out.returncode == 2
    message = (f"{demo_copy} holds demo data: importing would mix the demo's records with real ones. "
               "Add --replace-demo to replace the demo records, or --append to keep both.")
    assert _one_line(out) == f"Import failed: {message}"
    assert _strict_json(out.stdout) == {"ok": False, "error": message}
    assert _state(demo_copy) == (300, "1", "demo data (seed 7, 300 leads)")  # untouched


def test_import_with_replace_demo_swaps_the_records_and_drops_the_demo_flag(demo_copy, real_files):
    out = _cli("import", "--db", str(demo_copy), "--preset", "accord", "--replace-demo", str(real_files))
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        f"Replaced the demo data in {demo_copy}: its 300 leads and every other demo record were removed in "
        "the import's transaction; it is no longer marked as demo.")
    summary = _strict_json(out.stdout)
    assert summary["ok"] is True and summary["demo_data"] == "replaced"
    assert summary["by_table"]["leads"]["loaded"] == 3
    assert _state(demo_copy) == (3, "0", "imported: accord (1 file)")
    con = duckdb.connect(str(demo_copy), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM deals").fetchone()[0] == 0  # no demo deal left behind
        assert con.execute("SELECT count(*) FROM activities").fetchone()[0] == 0
        assert sorted(r[0] for r in con.execute("SELECT lead_id FROM leads").fetchall()) == ["R1", "R2", "R3"]
    finally:
        con.close()


def test_import_with_append_keeps_both_and_stays_marked_as_demo(demo_copy, real_files):
    out = _cli("import", "--db", str(demo_copy), "--preset", "accord", "--append", str(real_files))
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        f"Appended to the demo data in {demo_copy}: its 300 demo leads stay beside the imported records, "
        "and it stays marked as demo.")
    assert _strict_json(out.stdout)["demo_data"] == "kept"
    assert _state(demo_copy) == (303, "1", "demo data (seed 7, 300 leads) + imported: accord (1 file)")


def test_replace_demo_on_a_real_database_is_refused(tiny_db_copy, real_files):
    out = _cli("import", "--db", str(tiny_db_copy), "--preset", "accord", "--replace-demo", str(real_files))
    assert out.returncode == 2
    assert _one_line(out) == (f"Import failed: --replace-demo: {tiny_db_copy} holds no demo data, so nothing would "
                              "be replaced; import without --replace-demo to add these records.")
    assert _state(tiny_db_copy)[0] == 10


def test_import_into_a_real_database_needs_no_flag(tiny_db_copy, real_files):
    out = _cli("import", "--db", str(tiny_db_copy), "--preset", "accord", str(real_files))
    assert out.returncode == 0, out.stderr
    assert _strict_json(out.stdout)["demo_data"] is None
    assert _state(tiny_db_copy)[0] == 13


@pytest.mark.parametrize("content", ["lead_id,created_at,source,status\n", "a,b\n1,2\n"])
def test_a_replace_that_imports_nothing_leaves_the_flag_true_to_the_data(demo_copy, tmp_path, content):
    """A header without rows, or a file no preset recognises: exit 2, and whatever is left in the database,
    the demo flag says whether it is the demo."""
    (tmp_path / "leads.csv").write_text(content)
    out = _cli("import", "--db", str(demo_copy), "--preset", "accord", "--replace-demo", str(tmp_path / "leads.csv"))
    assert out.returncode == 2
    assert _strict_json(out.stdout)["ok"] is False
    leads, is_demo, _ = _state(demo_copy)
    assert is_demo == ("1" if leads else "0")
    assert "Traceback" not in out.stderr


def test_the_report_path_imports_neither_streamlit_nor_altair(tiny_db_copy):
    # start-up is most of a small report's time (issue 13). Pandas is no longer checked: DuckDB 1.5.5 imports
    # it whenever a query binds a parameter (`duckdb.connect().execute('SELECT ?', [1])` loads it), and every
    # value we send is bound.
    import subprocess
    import sys
    from pathlib import Path

    code = ("import runpy, sys\n"
            f"sys.argv = ['core', 'report', '--db', {str(tiny_db_copy)!r}, '--period', '2026-Q3']\n"
            "try:\n    runpy.run_module('core', run_name='__main__')\nexcept SystemExit as done:\n"
            "    assert not done.code, done.code\n"
            "print(sorted(m for m in ('pandas', 'streamlit', 'altair') if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                          text=True, check=True)
    assert '"period"' in done.stdout  # the report was printed
    assert done.stderr.strip().splitlines()[-1] in ("[]", "['pandas']")
