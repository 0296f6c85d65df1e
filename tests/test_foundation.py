"""Unit tier: periods, settings, schema versions and the CLI's contract (JSON on stdout, one-line errors)."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from core import db
from core.periods import BadAsOf, BadPeriod, parse_as_of, parse_period
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_periods():
    q = parse_period("2026-Q4")
    assert (q.start, q.end, q.days) == (datetime(2026, 10, 1), datetime(2027, 1, 1), 92)
    assert [m.label for m in q.months()] == ["2026-10", "2026-11", "2026-12"]
    assert parse_period("2026-02").days == 28
    assert parse_period("2026-01").quarter().label == "2026-Q1"
    assert parse_period("2026-Q1").previous().label == "2025-Q4"
    assert q.elapsed_share(datetime(2026, 11, 16)) == pytest.approx(46 / 92)
    assert q.elapsed_share(datetime(2020, 1, 1)) == 0 and q.elapsed_share(datetime(2030, 1, 1)) == 1


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "Q3", "", "2026-q3 OR 1=1", "26-Q1"])
def test_bad_period(text):
    with pytest.raises(BadPeriod, match="Unknown period"):
        parse_period(text)


def test_as_of_parsing():
    assert parse_as_of("2026-09-30") == datetime(2026, 9, 30)
    assert parse_as_of("2026-09-30T14:00:00+02:00") == datetime(2026, 9, 30, 12)
    assert parse_as_of("2026-09-30T12:00:00Z") == datetime(2026, 9, 30, 12)
    with pytest.raises(BadAsOf):
        parse_as_of("yesterday")


def test_every_setting_is_documented_in_readme():
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"ACCORD_{name.upper()}" in readme, name


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCORD_DB_PATH", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("ACCORD_STALL_DAYS", "45")
    s = Settings()
    assert s.db_path == tmp_path / "x.duckdb" and s.stall_days == 45


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.duckdb"
    db.connect(path, create=True).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(db.NewerSchema, match="newer Accord"):
        db.connect(path)


def test_older_schema_is_migrated(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    db.connect(path).close() if path.exists() else db.connect(path, create=True).close()
    # pretend this release is schema 3, whose migration adds a column
    monkeypatch.setattr(db, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(db, "MIGRATIONS", [(3, ["ALTER TABLE reps ADD COLUMN email VARCHAR"], [])])
    con = db.connect(path)
    assert db.get_meta(con, "schema_version") == "3"
    assert "email" in [r[0] for r in con.execute("DESCRIBE reps").fetchall()]
    con.close()
    con = db.connect(path)  # opening again does not re-run the migration
    con.close()


def test_a_schema_1_file_keeps_its_history_and_accepts_the_access_map(tmp_path):
    import duckdb

    path = tmp_path / "v1.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    old.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('data_version', '4')")
    old.execute("""CREATE TABLE edit_versions (
        kind VARCHAR NOT NULL CHECK (kind IN ('goal', 'sla_policy', 'quality_definition')), subject VARCHAR NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1), effective_from TIMESTAMP NOT NULL, body JSON NOT NULL,
        saved_by VARCHAR NOT NULL, saved_at TIMESTAMP NOT NULL, reason VARCHAR NOT NULL,
        PRIMARY KEY (kind, subject, version))""")
    old.execute("""INSERT INTO edit_versions VALUES ('goal', '2026-Q3', 1, '2026-07-01', '{"revenue": 5}', 'Lee',
                   '2026-07-01', 'first')""")
    old.close()
    con = db.connect(path)
    assert db.get_meta(con, "schema_version") == str(db.SCHEMA_VERSION)
    assert con.execute("SELECT kind, subject, version, saved_by FROM edit_versions").fetchall() == [
        ("goal", "2026-Q3", 1, "Lee")]
    con.execute("""INSERT INTO edit_versions VALUES ('access', 'default', 1, '2026-07-01', '{"rules": []}', 'Lee',
                   '2026-07-01', 'roles')""")
    with pytest.raises(duckdb.ConstraintException):  # the primary key came back with the new table
        con.execute("""INSERT INTO edit_versions VALUES ('goal', '2026-Q3', 1, '2026-07-01', '{}', 'x',
                       '2026-07-01', 'dup')""")
    con.close()


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(db.DatabaseMissing, match="not found"):
        db.connect(tmp_path / "nope.duckdb")
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(db.DatabaseUnreadable):
        db.connect(junk)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_report_prints_only_json(tiny_db_file):
    out = _cli("report", "--db", str(tiny_db_file), "--period", "2026-Q3")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["as_of"] == "2026-08-15T12:00:00"  # the data's as-of, stored with it
    assert report["funnel"]["quality_leads"] == 5
    assert report["pipeline"]["coverage"] == pytest.approx(42_000 / 65_000)


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "--db", "{db}", "--period", "2026-Q9"], "Unknown period"),
        (["report", "--db", "{missing}", "--period", "2026-Q3"], "not found"),
        (["report", "--db", "{junk}", "--period", "2026-Q3"], "could not be opened"),
        (["report", "--db", "{db}", "--period", "2026-Q3", "--as-of", "soon"], "Unreadable as-of"),
    ],
)
def test_cli_errors_are_one_line(args, message, tiny_db_file, tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    subs = {"{db}": str(tiny_db_file), "{missing}": str(tmp_path / "none.duckdb"), "{junk}": str(junk)}
    out = _cli(*[subs.get(a, a) for a in args])
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr


def test_page_url_paths_match_file_names():
    from core.navigation import PAGE_SPECS

    for spec in PAGE_SPECS:
        assert Path(spec.path).stem == spec.url_path, spec
