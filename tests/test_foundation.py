"""Unit tier: periods (range, default period, the options offered), settings and schema versions.
The command line's contract is in test_cli.py."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from core import db
from core.periods import (
    BadAsOf,
    BadPeriod,
    default_period,
    latest_record_at,
    parse_as_of,
    parse_period,
    period_options,
)
from core.settings import Settings
from core.store import open_store

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
    assert q.next().label == "2027-Q1" and q.shifted(-4).label == "2025-Q4" and q.shifted(2).label == "2027-Q2"
    assert parse_period("2026-01").previous().label == "2025-12" and parse_period("2026-12").next().label == "2027-01"


@pytest.mark.parametrize("text", ["9999-Q4", "0000-Q1", "1899-Q4", "2201-Q1", "1899-12", "2201-01"])
def test_period_out_of_range(text):
    with pytest.raises(BadPeriod) as exc:
        parse_period(text)
    assert str(exc.value) == f"Period {text!r} is out of range: use a year from 1900 to 2200."


def test_periods_at_the_edges_of_the_range():
    first, last = parse_period("1900-Q1"), parse_period("2200-Q4")
    assert (first.start, last.end) == (datetime(1900, 1, 1), datetime(2201, 1, 1))
    # arithmetic may step just outside the range (the period before, the next one) without failing
    assert first.previous().label == "1899-Q4" and not first.previous().in_range
    assert last.next().label == "2201-Q1" and not last.next().in_range
    assert parse_period("1900-01").previous().label == "1899-12"


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
    assert parse_as_of("1900-01-01") == datetime(1900, 1, 1)
    assert parse_as_of("2200-12-31T23:59:59") == datetime(2200, 12, 31, 23, 59, 59)


@pytest.mark.parametrize("text", [
    "0001-01-01", "9999-12-31T23:59", "1899-12-31T23:59", "2201-01-01",
    "0001-01-01T00:00+01:00",  # converting to UTC would overflow
    "9999-12-31T23:59-05:00",
    "1900-01-01T00:30+01:00",  # 1899-12-31 23:30 in UTC
])
def test_as_of_out_of_range(text):
    with pytest.raises(BadAsOf) as exc:
        parse_as_of(text)
    assert str(exc.value) == f"As-of {text!r} is out of range: use a moment from 1900 to 2200."


@pytest.mark.parametrize("as_of, latest, expected", [
    (datetime(2018, 11, 14, 18), datetime(2018, 9, 3), "2018-Q3"),  # as-of's quarter holds no data yet
    (datetime(2018, 11, 14, 18), datetime(2018, 10, 1), "2018-Q4"),
    (datetime(2018, 11, 14, 18), None, "2018-Q4"),  # an empty database: as-of's quarter
    (datetime(2018, 11, 14, 18), datetime(2019, 2, 1), "2018-Q4"),  # after as-of: never
    (datetime(2018, 11, 14, 18), datetime(1850, 1, 1), "2018-Q4"),  # a quarter no one may pick
    (datetime(2026, 1, 1), datetime(2025, 12, 31, 23, 59), "2025-Q4"),
])
def test_default_period_is_the_latest_quarter_holding_data(as_of, latest, expected):
    assert default_period(as_of, latest).label == expected


def months(year: int, first: int) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(first, first + 3)]


def test_period_options_run_from_two_quarters_ahead_to_the_quarters_before_the_data():
    options = period_options(datetime(2018, 11, 14, 18), quarters=2, latest_record=datetime(2018, 9, 3))
    assert options == [
        "2019-Q2", *months(2019, 4), "2019-Q1", *months(2019, 1),  # ahead of as-of (2018-Q4), for goals
        "2018-Q4", *months(2018, 10),  # as-of's quarter, though it holds no data
        "2018-Q3", *months(2018, 7),  # the default: the latest quarter holding data
        "2018-Q2", *months(2018, 4),
    ]
    # the usual case: the data reaches as-of's quarter
    quarters = [o for o in period_options(datetime(2026, 8, 15, 12), latest_record=datetime(2026, 8, 15)) if "Q" in o]
    assert quarters == ["2027-Q1", "2026-Q4", "2026-Q3", "2026-Q2", "2026-Q1", "2025-Q4", "2025-Q3", "2025-Q2"]
    # no data: as-of's quarter and the five before it, plus the two ahead
    assert [o for o in period_options(datetime(2026, 8, 15)) if "Q" in o] == quarters
    # never a period parse_period would refuse
    assert [o for o in period_options(datetime(2200, 11, 1)) if "Q" in o][:2] == ["2200-Q4", "2200-Q3"]
    assert [o for o in period_options(datetime(1900, 2, 1)) if "Q" in o] == ["1900-Q3", "1900-Q2", "1900-Q1"]
    for option in period_options(datetime(2200, 11, 1)) + period_options(datetime(1900, 2, 1)):
        parse_period(option)


def test_latest_record_at_reads_leads_deals_and_activities_up_to_as_of(tmp_path):
    con = open_store(tmp_path / "records.duckdb", create=True)
    try:
        assert latest_record_at(con, datetime(2026, 9, 30)) is None  # an empty database
        con.execute("""INSERT INTO leads (lead_id, created_at, source, status, mql_at, assigned_at) VALUES
            ('L1', '2026-05-02 08:00', 'web', 'open', '2026-09-20 00:00', '2026-09-21 00:00'),
            ('L2', '2099-06-30 00:00', 'web', 'open', NULL, NULL)""")
        con.execute("""INSERT INTO deals (deal_id, created_at, amount, stage, expected_close_on, closed_at) VALUES
            ('D1', '2026-04-01 00:00', 100, 'closed_won', '2026-12-31', '2026-07-03 09:30'),
            ('D2', '2026-06-10 00:00', 100, 'proposal', '2026-12-31', NULL)""")
        con.execute("INSERT INTO activities (activity_id, lead_id, deal_id, rep_id, occurred_at, kind) VALUES ('A1', 'L1', NULL, 'R1', '2026-08-20 10:00', 'call')")
        # mql_at, assigned_at and expected close dates are not records of something that happened
        assert latest_record_at(con, datetime(2026, 9, 30)) == datetime(2026, 8, 20, 10)  # the activity
        assert latest_record_at(con, datetime(2026, 8, 20, 9)) == datetime(2026, 7, 3, 9, 30)  # a deal closed
        assert latest_record_at(con, datetime(2026, 7, 3, 9, 30)) == datetime(2026, 7, 3, 9, 30)  # at as-of counts
        assert latest_record_at(con, datetime(2026, 7, 1)) == datetime(2026, 6, 10)  # a deal created
        assert latest_record_at(con, datetime(2026, 5, 31)) == datetime(2026, 5, 2, 8)  # a lead created
        assert latest_record_at(con, datetime(2026, 3, 1)) is None
        assert latest_record_at(con, datetime(2100, 1, 1)) == datetime(2099, 6, 30)
        assert latest_record_at.reads == ("records",)  # cached by ui.data until an import
    finally:
        con.close()


def test_latest_record_on_the_tiny_world(tiny):
    # L4 was created on 2026-08-15; X9 (08-16), L8 (08-20) and D6's close (09-01) are after as-of
    latest = latest_record_at(tiny, datetime(2026, 8, 15, 12))
    assert latest == datetime(2026, 8, 15)
    assert default_period(datetime(2026, 8, 15, 12), latest).label == "2026-Q3"


def test_sidebar_opens_on_the_latest_quarter_holding_data(tiny_db_copy, use_db):
    from apptest_support import open_page

    con = open_store(tiny_db_copy)
    with db.transaction(con) as cur:
        db.set_meta(cur, "as_of", "2026-11-20T12:00:00")  # 2026-Q4 holds no record up to as-of
    con.close()
    use_db(tiny_db_copy)
    at = open_page("pages/overview.py")
    picker = at.sidebar.selectbox(key="period")
    assert picker.value == "2026-Q3"  # D6 closed on 2026-09-01, the latest record
    assert [o for o in picker.options if "Q" in o][:4] == ["2027-Q2", "2027-Q1", "2026-Q4", "2026-Q3"]
    assert at.session_state["app_scope"].period.label == "2026-Q3"


def test_every_setting_is_documented_in_readme():
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"ACCORD_{name.upper()}" in readme, name


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCORD_DB_PATH", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("ACCORD_STALL_DAYS", "45")
    s = Settings()
    assert s.db_path == str(tmp_path / "x.duckdb") and s.stall_days == 45


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
    # pretend this release is one schema newer, whose migration adds a column
    newer = db.SCHEMA_VERSION + 1
    monkeypatch.setattr(db, "SCHEMA_VERSION", newer)
    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, (newer, ["ALTER TABLE reps ADD COLUMN email VARCHAR"], [])])
    con = db.connect(path)
    assert db.get_meta(con, "schema_version") == str(newer)
    assert "email" in [r[0] for r in con.execute("DESCRIBE reps").fetchall()]
    con.close()
    con = db.connect(path)  # opening again does not re-run the migration
    con.close()


@pytest.mark.parametrize("version, kinds", [
    (1, "'goal', 'sla_policy', 'quality_definition'"),
    (2, "'goal', 'sla_policy', 'quality_definition', 'access'"),
])
def test_an_older_file_keeps_its_history_and_accepts_the_new_kinds(tmp_path, version, kinds):
    import duckdb

    path = tmp_path / f"v{version}.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    old.execute("INSERT INTO meta VALUES ('schema_version', ?), ('data_version', '4')", [str(version)])
    old.execute("""INSERT INTO meta VALUES ('import_stamps', '[{"table": "leads", "column": "created_at",
                   "at": "2026-03-01T10:00:00", "note": "Leads.csv has no dates"}, {"table": "bogus"}]')""")
    old.execute(f"""CREATE TABLE edit_versions (
        kind VARCHAR NOT NULL CHECK (kind IN ({kinds})), subject VARCHAR NOT NULL,
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
                   '2026-07-01', 'roles'), ('exclusion', 'deals:D1', 1, '2026-07-01', '{}', 'Lee', '2026-07-01', 'x')""")
    assert con.execute("SELECT count(*) FROM counted_deals").fetchone() == (0,)
    # the importers' stamps moved from meta to their table (a malformed entry is dropped)
    assert con.execute("SELECT * FROM import_stamps").fetchall() == [
        ("leads", "created_at", datetime(2026, 3, 1, 10, 0), "Leads.csv has no dates")]
    assert db.get_meta(con, "import_stamps") is None
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


def test_page_url_paths_match_file_names():
    from core.navigation import PAGE_SPECS

    for spec in PAGE_SPECS:
        assert Path(spec.path).stem == spec.url_path, spec


def test_a_v3_file_keeps_its_history_and_accepts_stall_rules_and_snoozes(tmp_path):
    import duckdb

    path = tmp_path / "v3.duckdb"
    db.connect(path, create=True).close()
    old = duckdb.connect(str(path))  # a v3 file: edit_versions' CHECK without the two stall kinds
    old.execute("DROP TABLE edit_versions")
    old.execute("""CREATE TABLE edit_versions (
        kind VARCHAR NOT NULL CHECK (kind IN ('goal', 'sla_policy', 'quality_definition', 'access', 'exclusion')),
        subject VARCHAR NOT NULL, version INTEGER NOT NULL CHECK (version >= 1), effective_from TIMESTAMP NOT NULL,
        body JSON NOT NULL, saved_by VARCHAR NOT NULL, saved_at TIMESTAMP NOT NULL, reason VARCHAR NOT NULL,
        PRIMARY KEY (kind, subject, version))""")
    old.execute("""INSERT INTO edit_versions VALUES ('exclusion', 'deals:D1', 1, '2026-07-01', '{}', 'Lee',
                   '2026-07-01', 'typo')""")
    old.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(duckdb.ConstraintException):
        old.execute("""INSERT INTO edit_versions VALUES ('stall_rules', 'default', 1, '2026-07-01', '{}', 'Sal',
                       '2026-07-01', 'x')""")
    old.close()
    con = db.connect(path)
    assert db.get_meta(con, "schema_version") == str(db.SCHEMA_VERSION)  # v3 -> v4 -> … in turn
    assert con.execute("SELECT kind, subject, saved_by FROM edit_versions").fetchall() == [
        ("exclusion", "deals:D1", "Lee")]
    con.execute("""INSERT INTO edit_versions VALUES ('stall_rules', 'default', 1, '2026-07-01', '{"days": {}}', 'Sal',
                   '2026-07-01', 'rules'), ('deal_snooze', 'deals:D1', 1, '2026-07-01', '{}', 'Sal', '2026-07-01', 'x'),
                   ('rep_targets', '2026-Q4', 1, '2026-07-01', '{}', 'Sal', '2026-07-01', 'v5')""")
    with pytest.raises(duckdb.ConstraintException):  # the primary key came back with the new table
        con.execute("""INSERT INTO edit_versions VALUES ('exclusion', 'deals:D1', 1, '2026-07-01', '{}', 'x',
                       '2026-07-01', 'dup')""")
    con.close()
