"""DuckLake with a PostgreSQL catalog (core.lake): the same figures as a file, every command and the app on it,
and several processes saving and importing at once without a lost update (issue 16)."""
from __future__ import annotations

import json
import math
import multiprocessing
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from apptest_support import open_page
from core import cli, edits, lake
from core.db import SCHEMA_PATH, WriteRace, _statements, close, connect
from core.models import Actor, GoalBody
from core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
LEADERSHIP = Actor(name="Lee Ader", team="leadership")
DEMO = ["--leads", "1500", "--seed", "7", "--as-of", "2026-09-30T12:00"]


# --- the schema, without a server -------------------------------------------------------------------------


def _columns(statements: list[str]) -> list[tuple]:
    con = duckdb.connect()
    for statement in statements:
        con.execute(statement)
    return con.execute("SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                       "ORDER BY table_name, ordinal_position").fetchall()


def test_the_lake_schema_is_the_file_schema_less_its_keys_and_checks():
    file_schema = _statements(SCHEMA_PATH.read_text())
    lake_schema = lake.lake_statements(file_schema)
    text = "\n".join(lake_schema)
    assert not re.search(r"PRIMARY\s+KEY|CHECK\s*\(|UNIQUE", text, flags=re.IGNORECASE)
    # every column, in the same order, with the same type; a key column stays NOT NULL (a key is never null)
    assert _columns(lake_schema) == _columns(file_schema)
    assert "status          VARCHAR NOT NULL" in text  # the CHECK after NOT NULL went, the NOT NULL stayed


def test_a_password_never_appears_in_a_message():
    assert lake.describe("ducklake:postgres:host=db user=a password=s3cret dbname=x") == \
        "ducklake:postgres:host=db user=a password=*** dbname=x"


# --- one process: the same figures, every command ---------------------------------------------------------


def _close_enough(a, b, path="") -> None:
    """Equal, floats to 1e-12 relative: the lake sums the same rows in another order (velocity differed in the
    16th digit)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _close_enough(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close_enough(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


def _report(db: str, capsys, period: str = "2026-Q3") -> dict:
    assert cli.main(["report", "--db", db, "--period", period]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_every_command_gives_the_same_figures_on_a_lake_as_on_a_file(lake_target, tmp_path, capsys):
    file_db = str(tmp_path / "demo.duckdb")
    assert cli.main(["demo", "--db", file_db, *DEMO]) == 0
    assert cli.main(["demo", "--db", lake_target, "--data-path", str(tmp_path / "lake-data"), *DEMO]) == 0
    capsys.readouterr()
    for period in ("2026-Q3", "2026-08"):
        _close_enough(_report(lake_target, capsys, period), _report(file_db, capsys, period))

    # an import appended to both: the same records counted the same way
    csv = tmp_path / "leads.csv"
    csv.write_text("lead_id,created_at,source,status,score,company\n"
                   + "".join(f"X{i},2026-09-{1 + i % 28:02d} 10:00:00,webinar,open,{60 + i % 40},Acme {i}\n"
                             for i in range(40)))
    for db in (file_db, lake_target):
        assert cli.main(["import", "--db", db, "--preset", "accord", "--append", str(csv)]) == 0, \
            capsys.readouterr().err
    capsys.readouterr()
    on_lake, on_file = _report(lake_target, capsys), _report(file_db, capsys)
    _close_enough(on_lake, on_file)
    assert on_lake["funnel"]["leads"] == _report(file_db, capsys)["funnel"]["leads"]

    out = tmp_path / "digest.html"
    assert cli.main(["digest", "--db", lake_target, "--period", "2026-Q3", "--out", str(out)]) == 0
    assert "2026-Q3" in out.read_text()
    # a backup is of a file; a lake is told how it is backed up instead of a traceback
    assert cli.main(["backup", "--db", lake_target, "--to", str(tmp_path / "b")]) == 2
    assert "pg_dump" in capsys.readouterr().err


def test_an_unreachable_catalog_is_one_plain_line(tmp_path, capsys):
    from browser_support import free_port

    target = f"ducklake:postgres:host=127.0.0.1 port={free_port()} user=postgres dbname=nowhere password=hush"
    assert cli.main(["report", "--db", target, "--period", "2026-Q3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Could not open the DuckLake catalog ducklake:postgres:host=127.0.0.1"), err
    assert "hush" not in err and "Traceback" not in err and len(err.splitlines()) == 1


# --- the app on a lake -------------------------------------------------------------------------------------


@pytest.fixture
def tiny_lake(lake_target, tiny_db_file, use_db) -> str:
    """The tiny hand-checked world copied into a new lake, and the app pointed at it."""
    lake.replace_from_file(lake_target, tiny_db_file)
    return use_db(lake_target)


def test_the_app_shows_the_tiny_worlds_hand_checked_figures_from_a_lake_and_saves_a_goal(tiny_lake):
    from test_app_goals import fill_form, headline, press

    at = open_page("pages/goals.py")
    assert headline(at) == {"goal": "$100k", "won_revenue": "$35k", "attainment": "35.0%", "pacing": "70.8%",
                            "coverage": "0.65×"}
    fill_form(at, revenue=50_000, reason="Halved after the board review")
    press(at, "Save goal")
    assert [s.value for s in at.success] == ["Saved version 2 (Lee Ader)."]
    assert headline(at)["attainment"] == "70.0%"
    con = open_store(tiny_lake)
    try:
        assert [(v.version, v.body.revenue) for v in edits.history(con, "goal", "2026-Q3")][:2] == \
            [(2, 50_000), (1, 100_000)]
    finally:
        close(con)


# --- several processes at once -----------------------------------------------------------------------------

SAVES = 50


def _saver(args: tuple[str, str, int]) -> list[tuple[str, int, str]]:
    """One process: SAVES goal saves, each from the version it just read (as an editor opened it), half on the
    quarter every process edits, half on its own quarter. Returns (subject, version, reason) of each
    accepted save; a Conflict is a refusal the person is shown, never an overwrite."""
    target, data_path, worker = args
    os.environ["ACCORD_DATA_PATH"] = data_path
    con = connect(target)
    accepted = []
    try:
        for n in range(SAVES):
            subject = "2027-Q1" if n % 2 == 0 else f"2027-Q{2 + worker % 3}" if worker < 3 else "2028-Q1"
            current = edits.latest(con, "goal", subject)
            reason = f"worker {worker} save {n}"
            try:
                version = edits.save(con, "goal", subject, GoalBody(revenue=1000 * (worker + 1) + n), actor=LEADERSHIP,
                                     reason=reason, expected_version=current.version if current else 0)
            except (edits.Conflict, WriteRace):
                continue
            accepted.append((subject, version.version, reason))
    finally:
        close(con)
    return accepted


def test_four_processes_saving_and_an_importer_on_one_lake_lose_nothing(lake_target, tmp_path):
    data_path = str(tmp_path / "lake-data")
    close(open_store(lake_target))  # the schema and defaults, once, before the race
    csv = tmp_path / "leads.csv"
    csv.write_text("lead_id,created_at,source,status,score,company\n"
                   + "".join(f"L{i},2026-09-{1 + i % 28:02d} 10:00:00,webinar,open,{i % 100},Acme {i}\n"
                             for i in range(300)))
    env = dict(os.environ, ACCORD_DATA_PATH=data_path)
    importer = subprocess.Popen([sys.executable, "-m", "core", "import", "--db", lake_target, "--preset", "accord",
                                 str(csv)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        accepted = pool.map(_saver, [(lake_target, data_path, w) for w in range(4)])
    out, err = importer.communicate(timeout=300)
    assert importer.returncode == 0, err

    con = open_store(lake_target)
    try:
        rows = con.execute("SELECT subject, version, reason FROM edit_versions WHERE kind = 'goal'").fetchall()
        leads = con.execute("SELECT count(*) FROM leads").fetchone()[0]
    finally:
        close(con)
    saved = sorted(a for per_process in accepted for a in per_process)
    print(f"accepted {len(saved)} of {4 * SAVES} saves; import written after "
          f"{err.count('writing again')} race(s)")
    assert sorted(rows) == saved  # every accepted save is there, nothing else is
    for subject in {r[0] for r in rows}:
        versions = sorted(v for s, v, _ in rows if s == subject)
        assert versions == list(range(1, len(versions) + 1)), subject  # unique, none skipped
    assert len(saved) >= 4 * SAVES // 4  # the race refused some saves, not most of them
    assert leads == 300 and json.loads(out)["ok"] is True


def test_the_app_on_an_unreachable_catalog_says_so_plainly(use_db):
    from browser_support import free_port

    use_db(f"ducklake:postgres:host=127.0.0.1 port={free_port()} user=postgres dbname=gone password=hush")
    at = open_page("pages/overview.py", clean=False)
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(str(e.value) for e in [*at.error, *at.warning, *at.info])
    assert "Could not open the DuckLake catalog" in shown and "hush" not in shown, shown
