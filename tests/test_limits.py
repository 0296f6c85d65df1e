"""Bounded import work (issue 16, item 4): the file-size limit the Import page, its label and the command line
share, the column and cell caps checked before the body is parsed, and the row cap per import."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit import config as st_config

from apptest_support import PERSONAS, click, open_page
from conftest import csv_bytes as csv
from core.errors import AccordError
from core.ingest import SourceFile, files_from_paths, import_files, quarantine_rows, reader
from core.ingest.reader import FileProblem, Limits, parse
from core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
H = "lead_id,created_at,source,status"
ROWS = ["L1,2024-01-02,email,open", "L2,2024-01-03,webinar,open", "L3,2024-01-04,email,open"]


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# --- columns -------------------------------------------------------------------------------------------------

def test_a_header_at_the_column_cap_is_read_and_one_more_is_refused():
    at_cap = parse("leads.csv", csv(H, ROWS[0]), limits=Limits(max_columns=4))
    assert at_cap.header == H.split(",") and at_cap.rows == 1
    with pytest.raises(FileProblem) as refused:
        parse("leads.csv", csv(H + ",extra", ROWS[0] + ",x"), limits=Limits(max_columns=4))
    assert str(refused.value) == ("leads.csv: its header names 5 columns, above the 4-column limit "
                                  "(ACCORD_MAX_COLUMNS); export only the columns the preset uses.")


def test_a_delimiter_inside_a_quoted_header_name_is_not_a_column():
    parsed = parse("leads.csv", csv('lead_id,"source, first touch",status', 'L1,"email, paid",open'),
                   limits=Limits(max_columns=3))
    assert parsed.header == ["lead_id", "source, first touch", "status"]


def test_the_column_cap_is_checked_on_the_first_line_before_the_body_is_decoded(monkeypatch):
    # the body would fail to parse at all; the refusal must come from the header alone, before decode runs
    def no_decode(name, data):
        raise AssertionError("the whole file was decoded before the header was checked")

    monkeypatch.setattr(reader, "decode", no_decode)
    wide = ",".join(f"c{i}" for i in range(100_000)).encode() + b"\n" + b"x" * 1000 + b"\n"
    with pytest.raises(FileProblem, match=r"^wide\.csv: its header names 100,000 columns, above the 1,000-column"):
        parse("wide.csv", b"\n\r\n" + wide, limits=Limits(max_columns=1_000))  # leading blank lines skipped


def test_the_column_cap_holds_for_utf16_files_too():
    data = ("\ufeff" + ",".join(f"c{i}" for i in range(50)) + "\r\n" + ",".join("x" * 50) + "\r\n").encode("utf-16-le")
    with pytest.raises(FileProblem, match="its header names 50 columns, above the 10-column limit"):
        parse("wide.csv", data, limits=Limits(max_columns=10))


def test_a_too_wide_file_is_skipped_with_its_message_and_the_other_files_load(con):
    summary = import_files(con, "accord", [SourceFile("wide.csv", csv(H + ",a,b", ROWS[0] + ",1,2")),
                                           SourceFile("leads.csv", csv(H, *ROWS))],
                           actor="test", limits=Limits(max_columns=4))
    assert "wide.csv: its header names 6 columns, above the 4-column limit (ACCORD_MAX_COLUMNS); export only " \
           "the columns the preset uses." in summary.messages
    assert _count(con, "leads") == 3 and summary.by_table["leads"].loaded == 3


# --- cells ---------------------------------------------------------------------------------------------------

def test_a_row_with_a_value_over_the_cell_cap_is_quarantined_and_the_others_load(con):
    long_source = "w" * 41
    data = csv(H, ROWS[0], f"L9,2024-01-05,{long_source},open", ROWS[1], "L8,2024-01-05," + "v" * 40 + ",open")
    summary = import_files(con, "accord", [SourceFile("leads.csv", data)], actor="test",
                           limits=Limits(max_cell_chars=40))
    assert sorted(r[0] for r in con.execute("SELECT lead_id FROM leads").fetchall()) == ["L1", "L2", "L8"]
    q = quarantine_rows(con)
    assert q["line"].tolist() == [3]
    assert q["reason"].tolist() == ["the value in column 'source' is 41 characters, above the 40-character cell "
                                    "limit (ACCORD_MAX_CELL_CHARS)"]
    assert q["raw"].tolist() == [f"L9,2024-01-05,{long_source},open"]
    counts = summary.by_table["leads"]
    assert (counts.read, counts.loaded, counts.quarantined) == (4, 3, 1)


def test_the_quarantine_keeps_an_excerpt_of_an_over_long_row(con, monkeypatch):
    monkeypatch.setattr(reader, "RAW_KEEP_CHARS", 20)
    line = "L9,2024-01-05," + "w" * 100 + ",open"
    import_files(con, "accord", [SourceFile("leads.csv", csv(H, line))], actor="test", limits=Limits(max_cell_chars=50))
    assert quarantine_rows(con)["raw"].tolist() == [f"{line[:20]}… ({len(line)} characters in all)"]


def test_a_quoted_value_over_the_cap_spanning_lines_is_quarantined(con):
    note = "line one\n" + "x" * 60
    data = csv("lead_id,created_at,source,status,company", f'L1,2024-01-02,email,open,"{note}"',
               "L2,2024-01-03,email,open,Acme")
    import_files(con, "accord", [SourceFile("leads.csv", data)], actor="test", limits=Limits(max_cell_chars=50))
    assert [r[0] for r in con.execute("SELECT lead_id FROM leads").fetchall()] == ["L2"]
    assert quarantine_rows(con)["reason"].tolist() == [
        "the value in column 'company' is 69 characters, above the 50-character cell limit (ACCORD_MAX_CELL_CHARS)"]


def test_the_cell_cap_holds_on_the_slow_path_too():
    # the slow path is the fallback for quoting the C parser reads differently; no small file reliably reaches it,
    # so it is called directly, as parse() calls it
    text = "\n".join([H, ROWS[0], "L2,2024-01-03," + "w" * 30 + ",open", ROWS[2]])
    parsed = reader._slow("leads.csv", text, "UTF-8", Limits(max_cell_chars=20))
    assert parsed.frame["lead_id"].tolist() == ["L1", "L3"]
    assert [(r.line, r.reason) for r in parsed.rejects] == [
        (3, "the value in column 'source' is 30 characters, above the 20-character cell limit (ACCORD_MAX_CELL_CHARS)")]


def test_a_header_name_over_the_cell_cap_refuses_the_file():
    with pytest.raises(FileProblem) as refused:
        parse("notes.txt", csv("x" * 100, "y"), limits=Limits(max_cell_chars=50))
    assert str(refused.value) == ("notes.txt: its header holds a column name of 100 characters, above the "
                                  "50-character cell limit (ACCORD_MAX_CELL_CHARS); is the first line a header?")


# --- rows ----------------------------------------------------------------------------------------------------

def test_the_row_cap_counts_over_all_files_and_refuses_the_whole_import(con):
    import_files(con, "accord", [SourceFile("first.csv", csv(H, "K1,2024-01-01,email,open"))], actor="test")
    before = (_count(con, "leads"), _count(con, "import_runs"), _count(con, "quarantine"))
    files = [SourceFile("a.csv", csv(H, *ROWS)), SourceFile("b.csv", csv(H, "L4,2024-01-05,email,open",
                                                                          "L5,2024-01-05,email,open",
                                                                          "L6,2024-01-05,email,open"))]
    with pytest.raises(AccordError) as refused:
        import_files(con, "accord", files, actor="test", limits=Limits(max_rows=5))
    assert str(refused.value) == (
        "b.csv: takes the import past the 5 rows one import may hold (ACCORD_MAX_IMPORT_ROWS, over all its files); "
        "nothing was imported. Import the rows in parts, or raise the limit.")
    assert (_count(con, "leads"), _count(con, "import_runs"), _count(con, "quarantine")) == before
    summary = import_files(con, "accord", files, actor="test", limits=Limits(max_rows=6))  # exactly at the cap
    assert summary.by_table["leads"].loaded == 6


def test_quarantined_rows_count_towards_the_row_cap(con):
    with pytest.raises(AccordError, match="takes the import past the 2 rows"):
        import_files(con, "accord", [SourceFile("a.csv", csv(H, ROWS[0], "bad,row", ROWS[1]))], actor="test",
                     limits=Limits(max_rows=2))


def test_the_row_cap_holds_on_the_slow_path_too():
    text = "\n".join([H, *ROWS])
    assert reader._slow("leads.csv", text, "UTF-8", Limits(max_rows=3)).rows == 3
    with pytest.raises(reader.TooManyRows):
        reader._slow("leads.csv", text, "UTF-8", Limits(max_rows=2))


def test_limits_come_from_the_settings_by_default(con, monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("ACCORD_MAX_IMPORT_ROWS", "2")
    monkeypatch.setenv("ACCORD_MAX_COLUMNS", "7")
    monkeypatch.setenv("ACCORD_MAX_CELL_CHARS", "99")
    monkeypatch.setenv("ACCORD_MAX_UPLOAD_MB", "3")
    get_settings.cache_clear()
    try:
        assert Limits.from_settings() == Limits(max_bytes=3 * 1024 * 1024, max_rows=2, max_columns=7, max_cell_chars=99)
        with pytest.raises(AccordError, match="past the 2 rows one import may hold"):
            import_files(con, "accord", [SourceFile("a.csv", csv(H, *ROWS))], actor="test")
    finally:
        get_settings.cache_clear()


# --- file size -----------------------------------------------------------------------------------------------

def test_a_file_over_the_size_limit_is_refused_by_its_size_before_anything_is_read(tmp_path, monkeypatch):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_bytes(csv(H, ROWS[0]))
    with big.open("wb") as f:
        f.truncate(3 * 1024 * 1024 + 1)  # sparse: its size is all that matters
    reads: list[str] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self.name) or real(self))
    with pytest.raises(AccordError) as refused:
        files_from_paths([small, big], max_bytes=3 * 1024 * 1024)
    assert str(refused.value) == (f"{big}: is 3.0 MB, above the 3.0 MB upload limit (ACCORD_MAX_UPLOAD_MB); split it "
                                  "into smaller files, or raise the limit. Nothing was imported.")
    assert reads == []
    assert [f.name for f in files_from_paths([small, big], max_bytes=3 * 1024 * 1024 + 1)] == ["small.csv", "big.csv"]


def test_a_file_of_nul_bytes_is_named_binary_from_its_first_bytes():
    with pytest.raises(FileProblem, match="looks like a binary file"):
        parse("nul.csv", b"\x00" * (1024 * 1024))


def _cli(db: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "import", "--db", str(db), "--preset", "accord", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ACCORD_DB_PATH": str(db), **env})


def test_the_command_line_reads_the_same_size_limit_and_exits_2(tiny_db_copy, tmp_path):
    big = tmp_path / "leads.csv"
    big.write_bytes(csv(H, *[f"B{i},2024-01-02,email,open" for i in range(45_000)]))  # about 1.2 MiB
    con = open_store(tiny_db_copy)
    before = _count(con, "leads"), _count(con, "import_runs")
    con.close()
    out = _cli(tiny_db_copy, str(big), ACCORD_MAX_UPLOAD_MB="1")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"Import failed: {big}: is 1.2 MB, above the 1.0 MB upload limit (ACCORD_MAX_UPLOAD_MB); split it into "
        "smaller files, or raise the limit. Nothing was imported."]
    con = open_store(tiny_db_copy)
    assert (_count(con, "leads"), _count(con, "import_runs")) == before
    con.close()
    out = _cli(tiny_db_copy, str(big), ACCORD_MAX_UPLOAD_MB="2")
    assert out.returncode == 0, out.stderr


def test_the_command_line_refuses_an_import_past_the_row_cap_with_one_line(tiny_db_copy, tmp_path):
    leads = tmp_path / "leads.csv"
    leads.write_bytes(csv(H, *ROWS))
    out = _cli(tiny_db_copy, str(leads), ACCORD_MAX_IMPORT_ROWS="2")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "Import failed: leads.csv: takes the import past the 2 rows one import may hold (ACCORD_MAX_IMPORT_ROWS, "
        "over all its files); nothing was imported. Import the rows in parts, or raise the limit."]


# --- the Import page -----------------------------------------------------------------------------------------

@pytest.fixture
def server_limit():
    """Set the web server's upload limit (server.maxUploadSize) for one test, as config.toml would."""
    before = st_config.get_option("server.maxUploadSize")

    def _set(mb: int) -> None:
        st_config.set_option("server.maxUploadSize", mb)

    yield _set
    st_config.set_option("server.maxUploadSize", before)


def _uploader(at):
    return next(u for u in at.get("file_uploader") if u.key == "import_files")


def test_the_label_and_the_uploader_say_the_settings_limit(tiny_db_copy, use_db, server_limit):
    server_limit(50)
    use_db(tiny_db_copy, ACCORD_MAX_UPLOAD_MB=7)
    at = open_page("pages/import_data.py", persona=PERSONAS["leadership"])
    uploader = _uploader(at)
    assert uploader.label.startswith("CSV files (up to 7 MiB each;")
    assert uploader.proto.max_upload_size_mb == 7  # the browser refuses a larger file before sending it
    assert not [c for c in at.caption if "server.maxUploadSize" in c.value]


def test_the_page_never_promises_more_than_the_web_server_accepts(tiny_db_copy, use_db, server_limit):
    server_limit(50)
    use_db(tiny_db_copy, ACCORD_MAX_UPLOAD_MB=200)
    at = open_page("pages/import_data.py", persona=PERSONAS["leadership"])
    uploader = _uploader(at)
    assert uploader.label.startswith("CSV files (up to 50 MiB each;") and uploader.proto.max_upload_size_mb == 50
    assert [c.value for c in at.caption if "server.maxUploadSize" in c.value] == [
        "ACCORD_MAX_UPLOAD_MB asks for 200 MiB, but the web server accepts uploads of at most 50 MiB "
        "(server.maxUploadSize), so 50 MiB is the limit here; `python -m core import` takes files up to 200 MiB. "
        "Set both to the same value to make them agree."]


def test_an_upload_past_the_row_cap_is_a_clear_notice_and_imports_nothing(tiny_db_copy, use_db):
    con = open_store(tiny_db_copy)
    before = _count(con, "leads"), _count(con, "import_runs")
    con.close()
    use_db(tiny_db_copy, ACCORD_MAX_IMPORT_ROWS=2)
    at = open_page("pages/import_data.py", persona=PERSONAS["leadership"])
    _uploader(at).set_value(("leads.csv", csv(H, *ROWS), "text/csv"))
    at.run()
    click(at, "Import")
    assert not at.exception
    assert [e.value for e in at.error] == [
        # plain() escapes markdown: the person reads ACCORD_MAX_IMPORT_ROWS
        "leads.csv: takes the import past the 2 rows one import may hold (ACCORD\\_MAX\\_IMPORT\\_ROWS, over all its "
        "files); nothing was imported. Import the rows in parts, or raise the limit."]
    con = open_store(tiny_db_copy)
    assert (_count(con, "leads"), _count(con, "import_runs")) == before
    con.close()


def test_an_upload_over_the_size_limit_is_refused_with_its_size(tiny_db_copy, use_db, server_limit):
    server_limit(50)
    con = open_store(tiny_db_copy)
    before = _count(con, "leads")
    con.close()
    use_db(tiny_db_copy, ACCORD_MAX_UPLOAD_MB=1)
    at = open_page("pages/import_data.py", persona=PERSONAS["leadership"])
    # AppTest hands the bytes straight to the page, as a browser ignoring the uploader's own limit would
    _uploader(at).set_value(("leads.csv", csv(H, *[f"B{i},2024-01-02,email,open" for i in range(45_000)]), "text/csv"))
    at.run()
    click(at, "Import")
    assert not at.exception
    assert [w.value for w in at.warning] == ["Nothing was imported from these files."]
    assert [t.value for t in at.text if "upload limit" in t.value] == [
        "• leads.csv: is 1.2 MB, above the 1.0 MB upload limit (ACCORD_MAX_UPLOAD_MB); split it into smaller files, "
        "or raise the limit."]
    con = open_store(tiny_db_copy)
    assert _count(con, "leads") == before
    con.close()


def test_the_header_cap_counts_characters_not_bytes():
    name = "\u00e9" * 30  # 30 characters, 60 bytes in UTF-8
    assert parse("leads.csv", csv(f"lead_id,{name}", "L1,x"), limits=Limits(max_cell_chars=30)).header == ["lead_id", name]
    with pytest.raises(FileProblem, match="a column name of 31 characters"):
        parse("leads.csv", csv(f"lead_id,{name}\u00e9", "L1,x"), limits=Limits(max_cell_chars=30))
