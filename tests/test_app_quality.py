"""App tier: the quality-lead definition page under AppTest on a copy of the tiny world (as of
2026-08-15 12:00) — edit a draft, read its back-test, propose, approve as the other team, save directly
with joint sign-off off, conflicts and bad input.

Tiny-world verdicts (tests/test_metrics.py): version 1 qualifies L1 (80), L2 (demo), L3 (90), L4 (70),
L6 (CRM flag) in 2026-Q3 and L9 (85) in June. The draft used here — score ≥ 85, no fast tracks —
qualifies L3 (90) and L9 (85).
"""
from __future__ import annotations

from datetime import date

from streamlit.testing.v1 import AppTest

from apptest_support import PERSONAS, card, card_delta, open_page, table
from core import edits, signoff
from core.models import Actor, QualityDefinition
from core.semantic.measures import MEASURES
from core.store import open_store

PAGE = "pages/quality.py"


def open_quality(team: str = "leadership") -> AppTest:
    """A new session on the quality page acting as the demo persona of `team`: another person is another
    session, as in real life."""
    return open_page(PAGE, persona=PERSONAS[team])


def edit_strict_draft(at: AppTest) -> None:
    at.number_input(key="quality_form_min_score").set_value(85)
    at.radio(key="quality_form_demo").set_value("ignored")
    at.checkbox(key="quality_form_crm_qualified").uncheck()
    at.run()
    assert not at.exception


def heading(at: AppTest, prefix: str) -> str:
    return next(h.value for h in at.subheader if h.value.startswith(prefix))


def pending(path) -> list[signoff.Proposal]:
    con = open_store(path)
    try:
        return signoff.pending_proposals(con)
    finally:
        con.close()


def test_draft_preview_propose_and_approve_by_the_other_team(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_quality("marketing")
    assert "Score ≥ 60; or a demo request (fast track); or marked qualified by the source CRM." in at.text[0].value
    edit_strict_draft(at)

    def shown(name):
        return card(at, name), card_delta(at, name)

    # default range: first lead (06-15) to as-of → L1-L7, L9, L10 = 9 leads (L8 is created after as-of)
    assert shown("backtest_draft_quality_leads") == ("2", "version 1: 6")  # L3, L9 against L1 L2 L3 L4 L6 L9
    assert shown("backtest_draft_share") == ("22.2%", "version 1: 66.7%")  # 2/9, 6/9
    # won: L1 (D1) only, a version-1 lead; L9's D4 is still open → draft 0/2, version 1 1/6
    assert shown("backtest_draft_won_rate") == ("0.0%", "version 1: 16.7%")
    # version 1 yes, draft no: L1 L2 L4 L6 → D1 won 30,000 is missed
    assert shown("backtest_missed_won_deals") == ("1", "$30k won revenue")
    figures = table(at, "figure", index="figure")
    # D1 | D3 (L7) | nothing won | D1 + D3
    assert figures.loc[MEASURES["backtest_won_revenue"].label].tolist() == ["$30k", "$5,000", "$0", "$35k"]
    assert "The draft reads: Score ≥ 85." in [e.value for e in at.text]

    at.radio(key="quality_form_when").set_value("date").run()
    at.date_input(key="quality_form_effective_date").set_value(date(2026, 7, 3)).run()
    # back-dated to 07-03: L3 L4 L5 L6 L7 L10 were created since; L4 and L6 would stop qualifying
    assert any("the 6 leads already created since 2026-07-03 00:00 UTC" in w.value and "0 become quality leads and 2 stop"
               in w.value for w in at.warning)
    at.text_input(key="quality_form_reason").set_value("Score 85 converts better")
    at.button(key="quality_submit").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == ("Proposed: waiting for sales or leadership to approve. "
                                   "The version in force is unchanged until then.")
    [p] = pending(tiny_db_copy)
    assert (p.proposed_by, p.base_version, p.body.min_score, p.effective_from.date()) == ("Mia Kent", 1, 85, date(2026, 7, 3))
    # marketing sees its proposal but cannot approve it; it may withdraw it
    assert not [b for b in at.button if b.key == f"quality_approve_{p.proposal_id}"]
    assert at.button(key=f"quality_withdraw_{p.proposal_id}")
    assert heading(at, "Waiting for sign-off") == "Waiting for sign-off (1)"

    at = open_quality("sales")
    assert heading(at, "Waiting for sign-off") == "Waiting for sign-off (1)"
    # the approver sees the proposal's back-test (drawn first, beside its diff) before deciding: the same
    # figures marketing saw for its draft
    assert (card(at, "backtest_draft_quality_leads"), card_delta(at, "backtest_draft_quality_leads")) == (
        "2", "version 1: 6")
    assert card(at, "backtest_missed_won_deals") == "1"
    at.button(key=f"quality_approve_{p.proposal_id}").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("Approved: version 2 is saved and applies to leads created from 2026-07-03 00:00 UTC")
    assert heading(at, "Waiting for sign-off") == "Waiting for sign-off (0)"
    assert pending(tiny_db_copy) == []

    at.switch_page("pages/overview.py").run()
    # Q3 quality leads: L1, L2 keep version 1's verdict; from 07-03 only L3 → 3
    assert card(at, "quality_leads") == "3"


def test_save_directly_without_joint_signoff_and_restore(tiny_db_copy, use_db):
    use_db(tiny_db_copy, ACCORD_JOINT_SIGNOFF="false")
    at = open_quality()  # Lee Ader · leadership
    assert at.button(key="quality_submit").label == "Save as version 2"
    edit_strict_draft(at)
    at.text_input(key="quality_form_reason").set_value("stricter")
    at.button(key="quality_submit").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == ("Saved version 2: it applies to leads created from 2026-08-15 12:00 UTC.")
    # the draft restarted from version 2, with an empty reason; history shows both versions and the change
    assert at.number_input(key="quality_form_min_score").value == 85
    assert at.text_input(key="quality_form_reason").value == ""
    history = next(d.value for d in at.dataframe if "changes" in d.value.columns)
    assert history["version"].tolist() == [2, 1]
    assert "Minimum score: 60 → 85" in history["changes"].iloc[0]
    # restore version 1: load it into the draft, then save it as version 3
    at.button(key="quality_restore").click().run()
    assert at.number_input(key="quality_form_min_score").value == 60
    assert at.checkbox(key="quality_form_crm_qualified").value is True
    assert at.text_input(key="quality_form_reason").value == "Restore version 1"
    at.text_input(key="quality_form_reason").set_value("back to version 1")
    at.button(key="quality_submit").click().run()
    assert at.success[0].value.startswith("Saved version 3")
    con = open_store(tiny_db_copy)
    try:
        latest = edits.latest(con, "quality_definition", edits.POLICY_SUBJECT)
    finally:
        con.close()
    assert (latest.version, latest.body.min_score, latest.body.crm_qualified, latest.reason) == (3, 60, True, "back to version 1")


def test_someone_saved_meanwhile_is_a_conflict(tiny_db_copy, use_db):
    use_db(tiny_db_copy, ACCORD_JOINT_SIGNOFF="false")
    at = open_quality()
    edit_strict_draft(at)
    con = open_store(tiny_db_copy)
    try:
        edits.save(con, "quality_definition", edits.POLICY_SUBJECT, QualityDefinition(min_score=70),
                   actor=Actor(name="Sal Ortiz", team="sales"), reason="sales got there first", expected_version=1)
    finally:
        con.close()
    at.text_input(key="quality_form_reason").set_value("mine")
    at.button(key="quality_submit").click().run()
    assert not at.exception
    assert "Sal Ortiz saved version 2" in at.error[0].value and "Nothing was overwritten" in at.error[0].value
    assert "Their reason: sales got there first" in [c.value for c in at.caption]
    at.button(key="quality_restart").click().run()
    assert not at.error and at.number_input(key="quality_form_min_score").value == 70


def test_bad_input_is_explained_before_save(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_quality()
    at.number_input(key="quality_form_employees_min").set_value(500)
    at.number_input(key="quality_form_employees_max").set_value(50).run()
    assert [e.value for e in at.error] == ["Employee range is contradictory: minimum 500 is above maximum 50."]
    assert at.button(key="quality_submit").disabled
    assert "Fix the draft above to back-test it." in [i.value for i in at.info]
    at.number_input(key="quality_form_employees_max").set_value(5000)
    at.multiselect(key="quality_form_industries").set_value(["Softwear"]).run()
    assert [e.value for e in at.error] == [
        "Industries: no lead has industry 'Softwear' (did you mean 'software'?). Pick values present in the data."]
    # a definition that qualifies nothing is allowed, with a warning
    at.multiselect(key="quality_form_industries").set_value([])
    at.number_input(key="quality_form_employees_min").set_value(4000)  # the largest tiny company has 900
    at.radio(key="quality_form_demo").set_value("ignored")
    at.checkbox(key="quality_form_crm_qualified").uncheck().run()
    assert not at.error
    assert "The draft qualifies none of the leads created in this range: every quality figure would be zero." in [
        w.value for w in at.warning]
    assert not at.button(key="quality_submit").disabled


def test_viewer_reads_but_cannot_change(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_quality("viewer")
    assert "Vic Board (viewer) can read and back-test the definition" in at.info[0].value
    assert not [b for b in at.button if b.key == "quality_submit"]


def test_a_cleared_number_means_no_limit_and_the_draft_survives_navigation(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_quality("leadership")
    at.number_input(key="quality_form_employees_max").set_value(500)
    at.number_input(key="quality_form_min_score").set_value(85)
    at.run()

    def draft() -> str:
        return next(t.value for t in at.text if t.value.startswith("The draft reads"))

    assert draft() == ("The draft reads: Score ≥ 85 and at most 500 employees; or a demo request (fast track); or "
                       "marked qualified by the source CRM.")
    # leave for the Overview and come back: the draft is as it was left
    at.switch_page("pages/overview.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.number_input(key="quality_form_employees_max").value == 500
    assert at.number_input(key="quality_form_min_score").value == 85
    # clearing a field means "no limit", never 0
    at.number_input(key="quality_form_employees_max").set_value(None).run()
    assert draft() == ("The draft reads: Score ≥ 85; or a demo request (fast track); or marked qualified by the "
                       "source CRM.")
    at.number_input(key="quality_form_min_score").set_value(None).run()
    assert draft() == "The draft reads: A demo request (fast track); or marked qualified by the source CRM."
