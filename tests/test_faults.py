"""Faults told plainly (issue 16, item 3): a read-only file or folder, a full disk, a file another program
holds, a damaged or truncated file and a path that does not exist each give one line on the command line
(exit 2) and a notice in the app, and nothing already saved is lost.

A full disk is a real one where this runs as root (a small tmpfs), and a read-only folder a tmpfs remounted
read-only (root ignores file modes, so chmod alone would prove nothing there); elsewhere those tests use
chmod, or skip when there is no way to make the fault for real. The free-space check itself is tested with
the free space fixed, so its message can be compared whole."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from apptest_support import card, open_page
from conftest import AS_OF, LEADERSHIP
from core import cli, edits
from core import db as core_db
from core.models import GoalBody
from ui.widgets import plain

ROOT = Path(__file__).resolve().parents[1]
LEADS_CSV = "lead_id,created_at,source,status,score,company\nF1,2026-08-01 10:00:00,email,open,75,Faultco\n"
TINY_LEADS = 10  # tests/fixtures/tiny.sql
READ_ONLY = ("cannot be written (a read-only file or folder): nothing was changed. Make it writable, or point "
             "ACCORD_DB_PATH (--db) at a writable copy.")
FULL = "The disk is full: nothing was saved and the database is as it was. Free some space, then try again."


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def _one_line(out: subprocess.CompletedProcess) -> str:
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


def _leads(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM leads").fetchone()[0]
    finally:
        con.close()


def _state(path: Path) -> tuple:
    """What an import would change: the leads, the import log and every version counter."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return (con.execute("SELECT list(lead_id ORDER BY lead_id) FROM leads").fetchone()[0],
                con.execute("SELECT count(*) FROM import_runs").fetchone()[0],
                con.execute("SELECT list((key, value) ORDER BY key) FROM meta WHERE key LIKE '%version%'").fetchone()[0])
    finally:
        con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def tmpfs(tmp_path) -> Iterator:
    """mount(size_mb) -> a fresh tmpfs folder of that size (root only), unmounted after the test."""
    mounted: list[Path] = []

    def mount(size_mb: int) -> Path:
        if not _can_mount():
            pytest.skip("a real full or read-only disk needs root to mount a tmpfs")
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)],
                              capture_output=True, text=True)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def read_only_copy(tiny_db_copy, tmpfs) -> Iterator[Path]:
    """The tiny world in a folder nothing can write: a read-only tmpfs as root, chmod 555 otherwise."""
    if os.geteuid() == 0:
        where = tmpfs(16)
        target = where / "tiny.duckdb"
        shutil.copy(tiny_db_copy, target)
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield target
    else:
        folder = tiny_db_copy.parent / "ro"
        folder.mkdir()
        target = folder / "tiny.duckdb"
        shutil.copy(tiny_db_copy, target)
        target.chmod(0o444)
        folder.chmod(0o555)
        yield target
        folder.chmod(0o755)


# ------------------------------------------------------------------------------------------ read-only

def test_an_import_into_a_read_only_folder_is_one_line_and_the_report_still_reads_it(read_only_copy, tmp_path):
    csv = tmp_path / "leads.csv"
    csv.write_text(LEADS_CSV)
    before = _digest(read_only_copy)
    out = _cli("import", "--db", str(read_only_copy), "--preset", "accord", str(csv))
    assert out.returncode == 2
    assert _one_line(out) == f"Import failed: {read_only_copy} {READ_ONLY}"
    report = _cli("report", "--db", str(read_only_copy), "--period", "2026-Q3")
    assert report.returncode == 0, report.stderr
    writable = _cli("report", "--db", str(tmp_path / "tiny.duckdb"), "--period", "2026-Q3")  # the same world
    assert report.stdout == writable.stdout and '"leads":' in report.stdout
    assert _digest(read_only_copy) == before and _leads(read_only_copy) == TINY_LEADS


def test_the_app_on_a_read_only_folder_shows_the_figures_and_says_nothing_can_be_saved(read_only_copy, use_db):
    from ui import data

    use_db(read_only_copy)
    data._connection.clear()
    try:
        at = open_page("pages/overview.py")
        assert not at.error
        assert [w.value for w in at.sidebar.warning] == [plain(f"Read only for now: {read_only_copy} {READ_ONLY}")]
        assert card(at, "quality_leads") == "5"  # the tiny world's 2026-Q3 cohort, read as it is
        with pytest.raises(core_db.DatabaseReadOnly, match="cannot be written"):  # a save is refused, in words
            edits.save(data.connection(), "goal", "2026-Q3", GoalBody(revenue=1), actor=LEADERSHIP, reason="x",
                       expected_version=1, as_of=AS_OF)
    finally:
        data._connection.clear()


# ------------------------------------------------------------------------------------------ disk full

def test_an_import_the_disk_cannot_hold_is_refused_before_it_writes(tiny_db_copy, tmp_path, monkeypatch, capsys):
    csv = tmp_path / "leads.csv"
    csv.write_text(LEADS_CSV)
    monkeypatch.setattr(core_db, "free_bytes", lambda path: 50 * 1024 * 1024)  # 50 MiB free
    monkeypatch.setenv("ACCORD_MIN_FREE_MB", "64")
    from core.settings import get_settings
    get_settings.cache_clear()
    before = _state(tiny_db_copy)
    try:
        code = cli.main(["import", "--db", str(tiny_db_copy), "--preset", "accord", str(csv)])
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err.strip()
    assert code == 2
    size = len(LEADS_CSV)
    assert err == (f"Import failed: Not enough free disk space for this import: 50.0 MiB free where {tiny_db_copy} "
                   f"lives, and it may need 64.0 MiB (4 × the files' 0.0 MiB plus 64 MiB kept free). Nothing was "
                   "imported; free some space and run it again.")
    assert size < 1024  # the files' share rounds to 0.0 MiB: the reserve alone refuses
    assert _state(tiny_db_copy) == before


def test_the_free_space_estimate_is_four_times_the_files_plus_the_reserve(tmp_path, monkeypatch):
    monkeypatch.setattr(core_db, "free_bytes", lambda path: 100 * 1024 * 1024)
    core_db.check_free_space(tmp_path / "x.duckdb", 9 * 1024 * 1024, reserve_mb=64)  # needs exactly 100 MiB
    with pytest.raises(core_db.DiskFull, match=r"100.0 MiB free .* may need 100.0 MiB \(4 × the files' 9.0 MiB"):
        core_db.check_free_space(tmp_path / "x.duckdb", 9 * 1024 * 1024 + 1, reserve_mb=64)


# `python -m core` with the free-space estimate switched off, so an import runs into a full disk for real
_IMPORT_WITHOUT_ESTIMATE = ("import sys; import core.db; core.db.IMPORT_SPACE_FACTOR = 0; from core.cli import main; "
                            "sys.exit(main(sys.argv[1:]))")


def test_a_disk_that_fills_during_an_import_loses_nothing_and_a_retry_lands(tiny_db_copy, tmpfs, tmp_path):
    """A real full disk: the estimate is switched off so the import runs into it. Each command is a process of
    its own, as when a person runs them. Whether the next open gives the failed import's space back to the disk
    (core.db.reclaim) is not asserted: it usually does (free space back to free_before + 1.0-1.3 MiB), but in 4
    of 10 whole-suite runs under load, CI's among them, the disk kept it (free space: only the MiB removed)
    with nothing lost and a retry landing, with the commands in one process or in several alike. What a
    person is promised is asserted: the records as they were, one plain sentence, no stray file, and a retry
    that lands once some space is free."""
    where = tmpfs(tiny_db_copy.stat().st_size // 2**20 + 7)  # the world, the other files and 3-4 MiB to spare
    db = where / "tiny.duckdb"
    shutil.copy(tiny_db_copy, db)
    csv = tmp_path / "many.csv"
    with csv.open("w") as f:  # about 20 MB, some 10 MB once stored: more than the disk holds
        f.write("lead_id,created_at,source,status,score,company\n")
        for i in range(400_000):
            f.write(f"M{i},2026-08-{1 + i % 27:02d} 10:00:00,email,open,{i % 100},Company {i % 5000}\n")
    # something else on the disk that the person can remove when told the disk is full: the failed import may
    # leave no byte at all (it did in CI), and giving blocks back needs a write-ahead log entry and a checkpoint
    # of its own: a meta row's block, its log entry and three 256 KiB metadata blocks, about 1 MiB; the retry
    # below needs as much again
    other = where / "other-files"
    other.write_bytes(b"\0" * 3 * 1024 * 1024)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", _IMPORT_WITHOUT_ESTIMATE, *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=300, env={**os.environ, "ACCORD_MIN_FREE_MB": "0"})

    failed = run("import", "--db", str(db), "--preset", "accord", str(csv))
    assert (failed.returncode, _one_line(failed)) == (2, f"Import failed: {FULL}")
    other.unlink()  # "Free some space, then try again."
    # the next full open (any command) finds every record
    report = _cli("report", "--db", str(db), "--period", "2026-Q3")
    assert report.returncode == 0, report.stderr
    # no write-ahead log holding anything: DuckDB 1.5.5 sometimes leaves an empty one behind after the failed
    # import's database was invalidated (seen in 3 of 4 runs of this file beside others; 0 bytes each time)
    left = {p.name: p.stat().st_size for p in where.iterdir()}
    assert left.keys() <= {"tiny.duckdb", "tiny.duckdb.wal"} and left.get("tiny.duckdb.wal", 0) == 0, left
    assert _leads(db) == TINY_LEADS
    # and trying again works on the same disk
    small = tmp_path / "few.csv"
    small.write_text("lead_id,created_at,source,status,score,company\n"
                     + "".join(f"N{i},2026-08-02 10:00:00,email,open,50,Retry {i}\n" for i in range(100)))
    retried = run("import", "--db", str(db), "--preset", "accord", str(small))
    assert retried.returncode == 0, retried.stderr
    assert _leads(db) == TINY_LEADS + 100


def test_on_a_disk_with_no_space_left_reports_still_read_and_imports_are_refused(tiny_db_copy, tmpfs, tmp_path):
    where = tmpfs(tiny_db_copy.stat().st_size // 2**20 + 2)
    db = where / "tiny.duckdb"
    shutil.copy(tiny_db_copy, db)
    with (where / "filler").open("wb", buffering=0) as f:  # take every byte that is left
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass
    writable = _cli("report", "--db", str(tiny_db_copy), "--period", "2026-Q3")
    report = _cli("report", "--db", str(db), "--period", "2026-Q3")
    assert (report.returncode, report.stdout) == (0, writable.stdout)
    csv = tmp_path / "leads.csv"
    csv.write_text(LEADS_CSV)
    out = _cli("import", "--db", str(db), "--preset", "accord", str(csv))
    assert out.returncode == 2
    # the open's own small write finds the disk full, before the free-space check is reached
    assert _one_line(out) == (f"Import failed: The disk holding {db} is full: nothing was saved and the database is "
                              "as it was. Free some space, then try again.")
    assert _leads(db) == TINY_LEADS


# ------------------------------------------------------------------------------------------ locked

@pytest.fixture
def held(tiny_db_copy) -> Iterator[subprocess.Popen]:
    """Another program holding the file (DuckDB's write lock) until the test ends."""
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", str(tiny_db_copy)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    yield holder
    holder.stdin.close()
    holder.wait(timeout=30)


def _locked_line(path: Path, pid: int, waited: str) -> str:
    return (f"{path} is in use by another program ({Path(sys.executable).resolve().name}, process {pid}) and stayed "
            f"busy for {waited} s; try again when it is done (an import or report finishes on its own; a second "
            "Accord app on the same file must be stopped).")


def test_a_file_another_program_holds_is_waited_for_then_told(tiny_db_copy, held, tmp_path):
    """One line says it waits and for whom (progress, for a cron log), then one line says it gave up."""
    csv = tmp_path / "leads.csv"
    csv.write_text(LEADS_CSV)
    waiting = (f"{tiny_db_copy} is in use ({Path(sys.executable).resolve().name}, process {held.pid}); "
               "waiting up to 0.3 s for it.")
    out = _cli("report", "--db", str(tiny_db_copy), "--period", "2026-Q3", ACCORD_LOCK_WAIT_SECONDS="0.3")
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.splitlines() == [waiting, "error: " + _locked_line(tiny_db_copy, held.pid, "0.3")]
    imp = _cli("import", "--db", str(tiny_db_copy), "--preset", "accord", str(csv), ACCORD_LOCK_WAIT_SECONDS="0.3")
    assert imp.returncode == 2
    assert imp.stderr.splitlines() == [waiting, "Import failed: " + _locked_line(tiny_db_copy, held.pid, "0.3")]


def test_the_app_says_the_file_is_busy(tiny_db_copy, held, use_db):
    use_db(tiny_db_copy, ACCORD_LOCK_WAIT_SECONDS="0.2")
    at = open_page("pages/overview.py", clean=False)
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [
        plain(_locked_line(tiny_db_copy, held.pid, "0.2") + " Reload this page in a moment; nothing was lost.")]


# ------------------------------------------------------------------------------------------ damaged

def _damaged_prefix(path: Path) -> str:
    return f"{path} could not be opened as a DuckDB database (IO Error: "


DAMAGED_END = ("): it is damaged or not a whole database file. Restore it from a backup, or point ACCORD_DB_PATH "
               "(--db) at another file; it was left untouched.")


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_file_is_one_line_and_left_as_it_was(tiny_db_copy, damage):
    data = tiny_db_copy.read_bytes()
    tiny_db_copy.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not a database " * 100)
    before = _digest(tiny_db_copy)
    out = _cli("report", "--db", str(tiny_db_copy), "--period", "2026-Q3")
    assert out.returncode == 2
    line = _one_line(out)
    assert line.startswith("error: " + _damaged_prefix(tiny_db_copy)) and line.endswith(DAMAGED_END), line
    detail = "Could not read enough bytes" if damage == "truncated" else "exists, but it is not a valid DuckDB"
    assert detail in line
    assert _digest(tiny_db_copy) == before


def test_the_app_on_a_truncated_file_says_so(tiny_db_copy, use_db):
    data = tiny_db_copy.read_bytes()
    tiny_db_copy.write_bytes(data[: len(data) // 2])
    use_db(tiny_db_copy)
    at = open_page("pages/overview.py", clean=False)
    assert not at.exception
    [message] = [e.value for e in at.error]
    assert message.startswith(plain(_damaged_prefix(tiny_db_copy))) and message.endswith(plain(DAMAGED_END)), message


# ------------------------------------------------------------------------------------------ missing

def test_the_app_never_builds_the_demo_at_a_mistyped_path(tmp_path, use_db):
    missing = tmp_path / "acord.duckdb"
    use_db(missing)
    at = open_page("pages/overview.py", clean=False)
    assert not at.exception
    assert [e.value for e in at.error] == [
        plain(f"Database file not found: {missing}. Build one with: python -m core demo --db {missing}")]
    assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_the_app_builds_the_demo_where_asked(tmp_path, use_db):
    wanted = tmp_path / "fresh" / "accord.duckdb"
    use_db(wanted, ACCORD_DEMO_IF_MISSING="true", ACCORD_DEMO_LEADS="200")
    at = open_page("pages/overview.py")
    assert wanted.exists()
    assert any("Demo data" in i.value for i in at.sidebar.info)


def test_the_demo_is_built_at_the_default_path_only_when_unset(monkeypatch):
    from core.settings import Settings
    from ui.data import builds_demo_here

    monkeypatch.delenv("ACCORD_DB_PATH", raising=False)
    monkeypatch.delenv("ACCORD_DEMO_IF_MISSING", raising=False)

    assert builds_demo_here(Settings(_env_file=None))
    assert builds_demo_here(Settings(_env_file=None, db_path=Path("data/accord.duckdb")))
    assert not builds_demo_here(Settings(_env_file=None, db_path=Path("data/acord.duckdb")))
    assert builds_demo_here(Settings(_env_file=None, db_path=Path("elsewhere.duckdb"), demo_if_missing=True))


def test_the_cli_demo_builds_only_where_told(tmp_path):
    target = tmp_path / "here.duckdb"
    out = _cli("demo", "--db", str(target), "--leads", "100")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here.duckdb"]
    assert _leads(target) == 100


def test_an_import_that_creates_its_database_says_so(tmp_path):
    csv = tmp_path / "leads.csv"
    csv.write_text(LEADS_CSV)
    target = tmp_path / "new" / "accord.duckdb"
    out = _cli("import", "--db", str(target), "--preset", "accord", str(csv))
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines()[0] == f"{target} did not exist: created a new, empty database there for this import."
    again = _cli("import", "--db", str(target), "--preset", "accord", str(csv))
    assert "did not exist" not in again.stderr and _leads(target) == 1


def test_a_report_at_a_missing_path_creates_nothing(tmp_path):
    missing = tmp_path / "nope" / "accord.duckdb"
    out = _cli("report", "--db", str(missing), "--period", "2026-Q3")
    assert out.returncode == 2
    assert _one_line(out) == f"error: Database file not found: {missing}. Build one with: python -m core demo --db {missing}"
    assert not missing.parent.exists()


def test_a_file_from_duckdb_2_is_told_as_such_not_as_damaged():
    # DuckDB's own words when 1.5.5 meets a file DuckDB 2.0 wrote (Accord used 2.0 before DuckLake); a real one
    # cannot be made here, and a header patched by hand fails its checksum first
    said = ("IO Error: Trying to read a database file with version number 999, but we can only read versions "
            "between 64 and 68.\nThe database file was created with an newer version of DuckDB.")
    told = core_db.fault(duckdb.IOException(said), "data/accord.duckdb")
    assert isinstance(told, core_db.DatabaseUnreadable) and not isinstance(told, core_db.DatabaseDamaged)
    assert str(told).startswith(f"data/accord.duckdb was written by a newer DuckDB than this Accord uses "
                                f"({duckdb.__version__}); it was left untouched.")
