"""App tier for the Admin page (pages/admin.py): admins edit who may do what; others see it read-only, are
refused by the write path when they try anyway, and the refusal is listed."""
from __future__ import annotations

import pandas as pd
import pytest

from apptest_support import PERSONAS, click, open_page, texts
from core import edits
from core.models import AccessMap, Actor
from core.navigation import pages_for
from core.store import open_store

PAGE = "pages/admin.py"


@pytest.fixture
def db(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    return tiny_db_copy


def access_versions(path) -> list[tuple[int, str, list]]:
    con = open_store(path)
    try:
        return [(v.version, v.saved_by, [r.model_dump() for r in v.body.rules])
                for v in reversed(edits.history(con, "access", "default"))]
    finally:
        con.close()


def test_an_admin_saves_the_access_map_as_a_new_version(db):
    at = open_page(PAGE, persona=PERSONAS["leadership"])
    # AppTest cannot type into a data editor: its edits go in as the editor's state; the page turns the rows
    # into the body through core.access
    at.session_state["admin_form_rules"] = {"added_rows": [{"match": "@acme.com", "role": "sales_editor"},
                                                           {"match": "boss@acme.com", "role": "admin"}],
                                           "edited_rows": {}, "deleted_rows": []}
    at.text_input(key="admin_form_reason").set_value("the sales team and its boss")
    click(at, "Save the access map")
    assert not at.exception
    assert access_versions(db) == [(1, "Lee Ader", [{"match": "@acme.com", "role": "sales_editor"},
                                                    {"match": "boss@acme.com", "role": "admin"}])]
    assert "Saved version 1" in texts(at)


def test_a_forged_write_is_refused_logged_and_listed_for_admins(db):
    at = open_page("pages/overview.py", persona=PERSONAS["sales"])
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)  # not in a sales editor's menu at all
    con = open_store(db)
    try:
        with pytest.raises(edits.EditRefused):
            edits.save(con, "access", "default", AccessMap(rules=[{"match": "@x.io", "role": "admin"}]),
                       actor=Actor(name="Sal Ortiz", team="sales"), reason="me", expected_version=0)
    finally:
        con.close()
    at = open_page(PAGE, persona=PERSONAS["leadership"])
    log = at.dataframe[-1].value
    assert isinstance(log, pd.DataFrame)
    assert log[["actor", "action"]].values.tolist() == [["Sal Ortiz", "access"]]
    assert access_versions(db) == []


def test_the_menu_lists_the_admin_page_only_for_admins():
    names = {team: [p.url_path for p in pages_for(Actor(name="x", team=team))] for team in ("viewer", "leadership")}
    assert "admin" in names["leadership"] and "admin" not in names["viewer"]
    assert len(names["leadership"]) == len(names["viewer"]) + 1
