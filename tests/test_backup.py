"""Backups (issue 16, item 5): `python -m core backup` exports a consistent copy while the app serves, and
`python -m core restore` rebuilds a database that gives the same report, keeping whatever was in its place."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from apptest_support import PERSONAS, open_page
from core.backup import MANIFEST, BackupFailed, backup, restore
from core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 9, 1, 8, 30, 0)


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def _report(db: Path) -> str:
    out = _cli("report", "--db", str(db), "--period", "2026-Q3")
    assert out.returncode == 0, out.stderr
    return out.stdout


def _rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_restored_backup_gives_the_same_report_and_history(tiny_db_copy, tmp_path):
    folder, restored = tmp_path / "backup", tmp_path / "restored" / "accord.duckdb"
    out = _cli("backup", "--db", str(tiny_db_copy), "--to", str(folder))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["ok"] is True and summary["folder"] == str(folder)
    assert summary["tables"]["leads"] == _rows(tiny_db_copy, "SELECT count(*) FROM leads")[0][0]
    assert (folder / MANIFEST).is_file() and (folder / "schema.sql").is_file()
    [line] = out.stderr.strip().splitlines()
    assert line.startswith(f"Backed up {tiny_db_copy} to {folder}: {len(summary['tables'])} tables, ")

    out = _cli("restore", "--from", str(folder), "--db", str(restored))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["kept_as"] is None
    original = _report(tiny_db_copy)
    assert json.loads(original)["period"] and _report(restored) == original
    # meta less the moment a full open last gave free blocks back (core.db.reclaim's bookkeeping, not data)
    for sql in ("SELECT * FROM edit_versions ORDER BY ALL",
                "SELECT * FROM meta WHERE key <> 'space_reclaimed_at' ORDER BY ALL",
                "SELECT * FROM deals ORDER BY ALL"):
        assert _rows(restored, sql) == _rows(tiny_db_copy, sql), sql


def test_a_backup_is_taken_while_an_app_session_serves_the_file(tiny_db_copy, tmp_path, use_db):
    use_db(tiny_db_copy)
    at = open_page("pages/overview.py", persona=PERSONAS["leadership"])  # the app has the file open in this process
    out = _cli("backup", "--db", str(tiny_db_copy), "--to", str(tmp_path / "backup"), ACCORD_LOCK_WAIT_SECONDS="60")
    assert out.returncode == 0, out.stderr
    at.run()  # the app carries on after the backup
    assert not at.exception
    restored = tmp_path / "restored.duckdb"
    restore(tmp_path / "backup", restored)
    assert _report(restored) == _report(tiny_db_copy)


def test_a_backup_of_a_file_held_by_another_program_says_who_and_writes_nothing(tiny_db_copy, tmp_path):
    holder = duckdb.connect(str(tiny_db_copy))  # this test process holds the file, as a second app would
    try:
        out = _cli("backup", "--db", str(tiny_db_copy), "--to", str(tmp_path / "backup"), ACCORD_LOCK_WAIT_SECONDS="0")
    finally:
        holder.close()
    assert out.returncode == 2
    [line] = out.stderr.strip().splitlines()
    assert line.startswith(f"error: {tiny_db_copy} is in use by another program (")
    assert f"process {os.getpid()})" in line
    assert not (tmp_path / "backup").exists() and [p.name for p in tmp_path.iterdir()] == ["tiny.duckdb"]


def test_a_backup_never_overwrites_another(tiny_db_copy, tmp_path):
    folder = tmp_path / "backup"
    backup(tiny_db_copy, folder)
    manifest = (folder / MANIFEST).read_text()
    out = _cli("backup", "--db", str(tiny_db_copy), "--to", str(folder))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"error: {folder} already exists and is not an empty folder: choose a new folder for the backup "
        "(a backup never overwrites another)."]
    assert (folder / MANIFEST).read_text() == manifest


def test_restore_over_a_database_needs_replace_and_keeps_the_old_one(tiny_db_copy, tmp_path):
    folder = tmp_path / "backup"
    backup(tiny_db_copy, folder)
    con = open_store(tiny_db_copy)
    con.execute("DELETE FROM deals")  # a mistake the backup undoes
    con.close()
    out = _cli("restore", "--from", str(folder), "--db", str(tiny_db_copy))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"error: {tiny_db_copy} already exists: add --replace to restore over it (it is kept beside it as "
        "tiny.before-restore-<time>.duckdb); nothing was restored."]
    assert _rows(tiny_db_copy, "SELECT count(*) FROM deals") == [(0,)]

    result = restore(folder, tiny_db_copy, replace=True, now=NOW)
    assert result.kept_as == tmp_path / "tiny.before-restore-20260901-083000.duckdb"
    assert _rows(result.kept_as, "SELECT count(*) FROM deals") == [(0,)]  # nothing is destroyed
    assert _rows(tiny_db_copy, "SELECT count(*) FROM deals")[0][0] == json.loads(
        (folder / MANIFEST).read_text())["tables"]["deals"] > 0
    again = restore(folder, tiny_db_copy, replace=True, now=NOW)  # same second: a new name, not an overwrite
    assert again.kept_as == tmp_path / "tiny.before-restore-20260901-083000-2.duckdb"


def test_a_tampered_backup_is_refused_and_the_database_left_as_it_was(tiny_db_copy, tmp_path):
    folder = tmp_path / "backup"
    backup(tiny_db_copy, folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["tables"]["leads"] += 1
    (folder / MANIFEST).write_text(json.dumps(manifest))
    before = _report(tiny_db_copy)
    with pytest.raises(BackupFailed) as refused:
        restore(folder, tiny_db_copy, replace=True)
    assert str(refused.value) == (f"{folder} does not hold what its manifest lists (tables leads differ): the "
                                  f"backup is incomplete or was changed; {tiny_db_copy} was left as it was.")
    assert _report(tiny_db_copy) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "tiny.duckdb"]  # no half-built file left


def test_restore_from_a_folder_that_is_not_a_backup(tmp_path):
    (tmp_path / "photos").mkdir()
    out = _cli("restore", "--from", str(tmp_path / "photos"), "--db", str(tmp_path / "a.duckdb"))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'photos'} is not an Accord backup (it has no {MANIFEST}); make one with: "
        "python -m core backup --db PATH --to FOLDER"]
    out = _cli("restore", "--from", str(tmp_path / "missing"), "--db", str(tmp_path / "a.duckdb"))
    assert (out.returncode, out.stderr.strip()) == (2, f"error: {tmp_path / 'missing'}: no such backup folder.")
    assert not (tmp_path / "a.duckdb").exists()


def test_a_backup_of_a_missing_database_is_one_line(tmp_path):
    out = _cli("backup", "--db", str(tmp_path / "nope.duckdb"), "--to", str(tmp_path / "b"))
    assert (out.returncode, out.stderr.strip()) == (
        2, f"error: Database file not found: {tmp_path / 'nope.duckdb'}; nothing was backed up.")
    assert not (tmp_path / "b").exists()
