"""Imports and reports while the app serves (issue 16, item 1): the app (ui.data.Database) holds the DuckDB
file only while a unit of work has a cursor out, closes it when idle, and a new import shows at the next
cached call; the command line waits a bounded time for a file the app is working on.

Every wait here is on a condition (the file closed, a process ended) with a deadline, never a fixed sleep."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from conftest import AS_OF, LEADERSHIP
from core import edits
from core.db import data_version, reads
from core.models import GoalBody

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 60.0  # seconds: generous on a busy 2-core machine; a met condition returns at once
NEW_LEADS_CSV = ("lead_id,created_at,source,status,score,company\n"
                 "N1,2026-08-03 10:00:00,email,open,75,Newco\n"
                 "N2,2026-08-04 11:00:00,events,open,80,Newer\n")


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {DEADLINE:g} s for {what}")
        time.sleep(0.01)  # polling a condition, not a pause the result depends on


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


@reads("records")
def lead_count(con) -> int:
    return con.execute("SELECT count(*) FROM leads").fetchone()[0]


@pytest.fixture
def app_data(tiny_db_copy, use_db):
    """ui.data on a copy of the tiny world, closing the file 0.05 s after its last unit of work."""
    from ui import data

    use_db(tiny_db_copy, ACCORD_IDLE_CLOSE_SECONDS="0.05")
    data._call.clear()
    data._connection.clear()
    yield data
    data._call.clear()
    data._connection.clear()


def test_the_app_lets_go_of_the_file_when_idle_and_an_import_shows_at_the_next_call(app_data, tiny_db_copy, tmp_path):
    data = app_data
    assert data.cached(lead_count) == 10
    database = data.connection()
    _until(lambda: not database.is_open, "the app to close the idle file")
    csv = tmp_path / "new.csv"
    csv.write_text(NEW_LEADS_CSV)
    out = _cli("import", "--db", str(tiny_db_copy), "--preset", "accord", str(csv), ACCORD_LOCK_WAIT_SECONDS="0")
    assert out.returncode == 0, out.stderr  # no wait needed: the file was free
    assert data.cached(lead_count) == 12  # the records domain moved: the cache missed and re-read the file
    assert database.opens == 2


def test_a_unit_of_work_keeps_the_file_and_a_report_waits_for_it(app_data, tiny_db_copy):
    data = app_data
    cur = data.cursor()  # a page computing: the file stays open however long it takes
    try:
        refused = _cli("report", "--db", str(tiny_db_copy), "--period", "2026-Q3", ACCORD_LOCK_WAIT_SECONDS="0")
        assert refused.returncode == 2
        assert refused.stderr == (
            f"error: {tiny_db_copy} is in use by another program ({Path(sys.executable).resolve().name}, process "
            f"{os.getpid()}); try again when it is done (an import or report finishes on its own; a second Accord "
            "app on the same file must be stopped).\n")
        assert data.connection().is_open
        # a report started now waits, and gets the file once the unit of work ends
        report = subprocess.Popen([sys.executable, "-m", "core", "report", "--db", str(tiny_db_copy),
                                   "--period", "2026-Q3"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        waiting = report.stderr.readline()  # its first line says it waits (it cannot have the file yet)
        assert waiting.startswith(f"{tiny_db_copy} is in use (") and waiting.endswith("waiting up to 30 s for it.\n")
    finally:
        cur.close()
    out, err = report.communicate(timeout=DEADLINE)
    assert report.returncode == 0, err
    assert '"label": "2026-Q3"' in out


def test_a_reopen_after_an_idle_close_writes_nothing(app_data, tiny_db_copy):
    """The schema and defaults are applied once per process; later opens only read, so an idle app never
    writes to the file (a write per interaction would also cost a checkpoint per close)."""
    data = app_data
    data.uncached(lead_count)
    database = data.connection()
    _until(lambda: not database.is_open, "the idle close")
    before = tiny_db_copy.read_bytes()
    assert data.uncached(lead_count) == 10
    _until(lambda: not database.is_open, "the second idle close")
    assert database.opens == 2 and database.closes == 2
    assert tiny_db_copy.read_bytes() == before


def test_a_save_through_the_app_waits_for_an_import_holding_the_file(app_data, tiny_db_copy):
    """The write path (core.db.transaction on connection()) opens the file on demand, waiting for another
    process that holds it, and the save lands once that process lets go."""
    data = app_data
    database = data.connection()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.readline()", str(tiny_db_copy)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    saved: list = []
    save = threading.Thread(target=lambda: saved.append(edits.save(
        database, "goal", "2026-Q3", GoalBody(revenue=120_000), actor=LEADERSHIP, reason="while importing",
        expected_version=1, as_of=AS_OF)))
    save.start()
    _until(lambda: database.waits == 1, "the save to find the file held")
    assert not saved
    holder.stdin.write("done\n")
    holder.stdin.flush()
    holder.wait(timeout=DEADLINE)
    save.join(timeout=DEADLINE)
    assert [v.version for v in saved] == [2]
    assert data.uncached(lambda cur: cur.execute(
        "SELECT list(version ORDER BY version) FROM edit_versions WHERE kind = 'goal'").fetchone()[0]) == [1, 2]


def test_a_cursor_of_a_dropped_connection_does_not_unbalance_the_count(app_data):
    data = app_data
    database = data.connection()
    old = database.cursor()
    database.discard()  # what recover() does after DuckDB invalidated the connection
    assert not database.is_open
    fresh = database.cursor()
    old.close()  # the dead cursor's lease belonged to the dropped connection
    assert database.is_open  # `fresh` still holds the new one
    assert fresh.execute("SELECT count(*) FROM leads").fetchone()[0] == 10
    fresh.close()
    _until(lambda: not database.is_open, "the idle close after the last cursor")


def test_concurrent_opens_from_several_processes_all_succeed_and_keep_every_row(tiny_db_copy):
    """4 processes × 25 opens, each writing one row and closing (core.db.close): with the bounded wait every
    open succeeds where the issue saw 185 of 200 refused, and every committed row is there. Without the
    handoff lock (core.db.handoff) DuckDB 2.0 lost a committed row in some runs under load, so a failure
    here may be intermittent, never a flake to retry: it means rows were lost."""
    script = (
        "import sys\n"
        "from core.db import close\n"
        "from core.store import open_store\n"
        "ok = 0\n"
        "for i in range(25):\n"
        "    con = open_store(sys.argv[1])\n"
        "    con.execute('INSERT INTO meta VALUES (?, ?)', [f'probe-{sys.argv[2]}-{i}', 'x'])\n"
        "    close(con)\n"
        "    ok += 1\n"
        "print(ok)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tiny_db_copy), str(n)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(4)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [(p.returncode, out.strip()) for p, (out, _) in zip(procs, results)] == [(0, "25")] * 4, results
    con = duckdb.connect(str(tiny_db_copy), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM meta WHERE key LIKE 'probe-%'").fetchone()[0] == 100
    finally:
        con.close()


def test_the_cli_report_runs_while_a_process_serves_the_app(app_data, tiny_db_copy):
    data = app_data
    version = data.uncached(data_version)
    out = _cli("report", "--db", str(tiny_db_copy), "--period", "2026-Q3")
    assert out.returncode == 0, out.stderr
    assert data.uncached(data_version) == version  # the report wrote no figures' version


def test_the_app_bounds_duckdbs_memory_and_the_command_line_does_not(tiny_db_copy, use_db):
    from core.db import close, connect
    from ui import data

    use_db(tiny_db_copy, ACCORD_APP_MEMORY_MB="256")
    data._connection.clear()
    try:
        with data.cursor() as cur:
            assert cur.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "256.0 MiB"
    finally:
        data._connection.clear()
    con = connect(tiny_db_copy)  # the command line's open: DuckDB's default (80% of the machine)
    try:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] != "256.0 MiB"
    finally:
        close(con)
