"""AppTest: the Meeting digest page on the tiny world shows the report's figures, makes each file on request
and offers it for download; an empty period says why there is nothing to digest."""
from __future__ import annotations

from apptest_support import open_page


def test_the_digest_page_shows_the_figures_and_makes_the_files(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_page("pages/digest.py")
    values = {m.label: m.value for m in at.metric}
    assert (values["Revenue goal"], values["Won revenue"], values["SLA compliance"]) == ("$100k", "$35k", "50.0%")
    at.button(key="digest_make_html").click().run()
    assert not at.exception
    assert "digest_make_html" not in [b.key for b in at.button]  # replaced by its download
    assert at.session_state["digest_files"]["html"][1].startswith(b"<!doctype html>")


def test_a_period_not_started_says_there_is_nothing_to_digest(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_page("pages/digest.py", period="2027-Q1")
    assert at.info[0].value == ("2027-Q1 starts after the data's as-of moment (2026-08-15 12:00 UTC): nothing has "
                                "happened in it yet.")
