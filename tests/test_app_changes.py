"""AppTest: the What changed page on the tiny world (as of 2026-08-15 12:00; tests/test_metrics.py has its
records): the window from the URL or the pickers, the movement sentence and cards, the deal list."""
from __future__ import annotations

from datetime import date

from apptest_support import cards, open_page


def test_opens_on_the_last_week_and_says_what_moved(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_page("pages/changes.py")
    assert at.date_input(key="since").value == date(2026, 8, 8) and at.date_input(key="until").value == date(2026, 8, 15)
    assert at.query_params["since"] == "2026-08-08" and at.query_params["until"] == "2026-08-15"
    # D1 closed lost on 2026-08-15 ($8,000 in the tiny world); nothing else moved that week
    assert at.text[0].value.startswith("From 08 Aug 2026 to 15 Aug 2026 12:00, deals: 0 created; 0 advanced a stage;")
    assert "1 lost ($8,000)" in at.text[0].value
    assert cards(at)["Lost · between the two dates"] == "1"


def test_a_shared_window_opens_from_the_url_and_a_reversed_one_is_refused(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_page("pages/changes.py", state={"since": date(2026, 6, 1)})
    assert at.text[0].value.startswith("From 01 Jun 2026 to 15 Aug 2026 12:00, deals: 7 created ($89k); "
                                       "2 advanced a stage ($30k);")
    assert cards(at)["Created · between the two dates"] == "7"
    at.date_input(key="until").set_value(date(2026, 5, 1)).run()
    assert [w.value for w in at.warning] == ["The end date comes before the start date: choose a window that "
                                             "runs forward."]
    assert not at.exception
