"""Nothing from the data is rendered as markup (issue 11, item 6): the escaping function on a corpus of markup
and formula cells, formula-safe CSV and file names, and every page under AppTest on a world whose names,
reasons, segments, proposals and imports are that corpus.

Streamlit renders Markdown in most elements (markdown, caption, alerts, toasts, headings, expander and tab
labels, metric and widget labels and help, radio options, progress text). `markdown_texts` collects what
those elements were given; a corpus value may reach them only escaped (ui.widgets.plain). st.text, tables and
select options show text as it is. tests/test_browser_markup.py checks the same world in Chromium."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from apptest_support import PAGES, act_as, click, open_page
from conftest import AS_OF
from core import edits
from core.db import set_meta, transaction
from core.export import WORD_JOINER, plain_markdown, safe_csv, safe_file_name, unescape_markdown
from core.ingest import SourceFile, import_as
from core.models import Actor, GoalBody, QualityDefinition, SlaPolicy
from core.store import open_store

WJ = WORD_JOINER


def markup_corpus(port: int = 9) -> dict[str, str]:
    """Values that render as markup when Streamlit's Markdown gets them as they are. `port`: where the image
    points (the browser test passes a port nothing listens on, so a fetch shows up as a request there)."""
    return {
        "image": f"![x](http://127.0.0.1:{port}/x.png)",
        "link": "[link](http://evil.example/a)",
        "html": "<img src=x onerror=alert(1)>",
        "script": "<script>alert(1)</script>",
        "bold": "**bold**",
        "colour": ":red[alert]",
        "icon": ":material/home:",
        "math": "$x^2$",
        "code": "`code`",
        "heading": "# heading",
        "autolink": "www.evil.example/b",
    }


FORMULAS = ("=1+2", "@SUM(A1)", "-2+3", "+cmd")
MARKUP = markup_corpus()


# --- the escaping function ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "escaped"), [
    ("![x](http://127.0.0.1:9/x.png)", "\\!\\[x\\]\\(http:" + WJ + "//127.0.0.1:9/x.png)"),
    ("[link](http://evil)", "\\[link\\]\\(http:" + WJ + "//evil)"),
    ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
    ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
    ("**bold**", "\\*\\*bold\\*\\*"),
    (":red[alert]", "\\:red\\[alert\\]"),
    (":material/home:", "\\:" + WJ + "material/home:"),
    ("$x^2$", "\\$x^2\\$"),
    ("`code`", "\\`code\\`"),
    ("# heading", "\\# heading"),
    ("=1+2", "\\=1+2"),
    ("@SUM(A1)", "@" + WJ + "SUM(A1)"),
    ("-2+3", "\\-2+3"),
    ("+cmd", "\\+cmd"),
    # rewritten by Streamlit after parsing, so broken by a word joiner: autolinks, icons, emoji, typography
    ("see www.evil.example or me@evil.example", "see www" + WJ + ".evil.example or me@" + WJ + "evil.example"),
    (":streamlit: :smile:", "\\:" + WJ + "streamlit: :" + WJ + "smile:"),
    ("a -> b -- c", "a -" + WJ + "\\> b -" + WJ + "- c"),
    # block markers count at the start only, and line breaks never reach the renderer
    ("1. one", "1\\. one"),
    ("line\n\n# two\n    code", "line \\# two code"),
    ("note:red", "note\\:red"),
    ("&amp; | ~x~ {a}", "\\&amp; \\| \\~x\\~ \\{a\\}"),
    ("a\\b", "a\\\\b"),
    # prose stays as written
    ("Saved version 2 (Lee Ader) at 12:00 UTC.", "Saved version 2 (Lee Ader) at 12:00 UTC."),
    ("back-test: 3.5 h; 100% of 2026-Q3, 'retail'?", "back-test: 3.5 h; 100% of 2026-Q3, 'retail'?"),
])
def test_plain_markdown_escapes_exactly_what_opens_markup(value, escaped):
    assert plain_markdown(value) == escaped
    assert unescape_markdown(escaped) == re.sub(r"\s+", " ", value)  # reads as the value once rendered


def _unescaped(text: str) -> str:
    """The characters of `text` that no backslash escapes."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


EVERYTHING = [*MARKUP.values(), *FORMULAS, "[^1] x", "::leaf[x]", "![y][r]", "<!-- c -->", "&#91;x&#93;(http://e.x)",
              "HTTPS://EVIL.example/u", "WWW.evil.example", "mailto:a@b.co", "x <-> y <= z ~= w", ":+1: :-1:",
              "a  \n b\r\n\tc", "* z", "> quote", "| a | b |", "~~strike~~", "\\*x\\*", "3) three", "= x"]


@pytest.mark.parametrize("value", EVERYTHING)
def test_no_markup_character_is_left_unescaped(value):
    out = plain_markdown(value)
    assert unescape_markdown(out) == re.sub(r"\s+", " ", value)
    bare = _unescaped(out)
    assert not re.search(r"[`*_~$\[\]<>&|{}#\\\n\r\t]", bare), bare
    assert not re.search(r":[A-Za-z:]|://|www\.|@\w|:[\w+-]+:|material/", bare.replace(WJ + "material/", "")), bare
    assert not re.match(r"\s*([-+=:]|\d+[.)](\s|$))", bare), bare


def test_say_escapes_the_values_and_keeps_our_words():
    from ui.widgets import plain, say

    drawn = []
    say(drawn.append, "**Reason**: {} (by {})", MARKUP["link"], "Lee Ader")
    assert drawn == ["**Reason**: \\[link\\]\\(http:" + WJ + "//evil.example/a) (by Lee Ader)"]
    assert plain(MARKUP["bold"]) == "\\*\\*bold\\*\\*"


# --- what leaves the app -------------------------------------------------------------------------------------

def test_safe_csv_neutralises_formula_cells_and_headers():
    frame = pd.DataFrame({
        "=HYPERLINK(\"http://evil\")": ["=1+2", "@SUM(A1)", "-2+3", "x\r=HYPERLINK(1)"],
        "note": ["+cmd", "\tTAB", "\rCR", "a\r\nb"],
        "kind": pd.Categorical(["=cat", "ok", "ok", "ok"]),
        "amount": [-5.0, 1.5, 0.0, 2.0],  # numbers stay numbers: a negative amount is data
        "fine": ["a=b", "x", None, "y"],
    })
    assert safe_csv(frame).decode("utf-8") == (
        "\"'=HYPERLINK(\"\"http://evil\"\")\",note,kind,amount,fine\n"
        "'=1+2,'+cmd,'=cat,-5.0,a=b\n"
        "'@SUM(A1),'\tTAB,ok,1.5,x\n"
        "'-2+3,\"'\nCR\",ok,0.0,\n"
        # a carriage return would end the row in a spreadsheet: a quoted line feed keeps the cell whole
        "\"x\n=HYPERLINK(1)\",\"a\nb\",ok,2.0,y\n"
    )


def test_download_file_names_keep_only_safe_characters():
    assert safe_file_name("2026-Q3-won-<img src=x>/../=1+2.csv") == "2026-Q3-won-_img_src_x_.._1_2.csv"
    assert safe_file_name("../../.hidden") == "_.._.hidden"
    assert safe_file_name("-rf.csv") == "rf.csv"
    assert safe_file_name("$$$") == "_"
    assert safe_file_name("") == "accord.csv"


# --- the corpus world ----------------------------------------------------------------------------------------

def corpus_world(path: Path, port: int = 9) -> dict:
    """Put the corpus into every text field of the tiny world at `path` that a page shows: rep names, teams
    and regions, campaign names and channels, industries, countries, sources, companies, accounts, rejection
    and loss reasons (SQL on the records), and — through core's write path — a goal, an SLA policy and a
    quality definition saved by people named with the corpus for corpus reasons, a pending and a rejected
    proposal, and an import of a file named with the corpus. Returns what was put where."""
    c = markup_corpus(port)
    con = open_store(path)
    with transaction(con, ("records",)) as cur:
        for sql, params in [
            ("UPDATE reps SET name = ? WHERE rep_id = 'S1'", [c["image"]]),
            ("UPDATE reps SET name = ?, region = ? WHERE rep_id = 'S2'", [c["link"], c["math"]]),
            ("UPDATE reps SET name = ? WHERE rep_id = 'A1'", [c["html"]]),
            ("UPDATE reps SET team = ? WHERE team = 'sdr-emea'", [c["bold"]]),
            ("UPDATE campaigns SET name = ?, channel = ? WHERE campaign_id = 'C1'", [c["script"], c["code"]]),
            ("UPDATE campaigns SET name = ? WHERE campaign_id = 'C2'", [c["colour"]]),
            ("UPDATE leads SET industry = ? WHERE industry = 'software'", [c["icon"]]),
            ("UPDATE leads SET industry = ? WHERE industry = 'fintech'", [c["heading"]]),
            ("UPDATE leads SET industry = ? WHERE industry = 'retail'", [c["autolink"]]),
            ("UPDATE leads SET country = ? WHERE country = 'US'", [c["image"]]),
            ("UPDATE leads SET country = ? WHERE country = 'GB'", [c["link"]]),
            ("UPDATE leads SET source = ? WHERE source = 'paid_search'", [c["bold"]]),
            ("UPDATE leads SET company = ? WHERE lead_id = 'L1'", [FORMULAS[0]]),
            ("UPDATE leads SET company = ? WHERE lead_id = 'L2'", [FORMULAS[1]]),
            ("UPDATE leads SET company = ? WHERE lead_id = 'L3'", [FORMULAS[2]]),
            ("UPDATE leads SET company = ? WHERE lead_id = 'L4'", [FORMULAS[3]]),
            ("UPDATE leads SET company = ? WHERE lead_id = 'L5'", [c["html"]]),
            ("UPDATE leads SET rejected_reason = ? WHERE lead_id = 'L5'", [c["image"]]),
            ("UPDATE leads SET status = 'recycled', rejected_reason = ? WHERE lead_id = 'L3'", [c["link"]]),
            ("UPDATE deals SET account = ? WHERE deal_id = 'D1'", [c["bold"]]),
            ("UPDATE deals SET account = ? WHERE deal_id = 'D2'", [FORMULAS[0]]),
            ("UPDATE deals SET lost_reason = ? WHERE deal_id = 'D5'", [c["link"]]),
        ]:
            cur.execute(sql, params)

    people = {
        "goal": Actor(name=f"{c['bold']} {c['html']}", team="leadership"),
        "sla": Actor(name=c["script"], team="marketing"),
        "quality": Actor(name=c["icon"], team="marketing"),
        "proposer": Actor(name=f"{c['image']} {c['link']}", team="marketing"),
        "sales": Actor(name=c["colour"], team="sales"),
        "rejecter": Actor(name=c["math"], team="marketing"),
        "importer": Actor(name=c["code"], team="leadership"),
    }
    reasons = {"goal": f"{c['image']} {c['link']}", "sla": f"{c['colour']} {c['math']}",
               "quality": f"{c['code']} {c['heading']}", "proposal": f"{c['image']} {c['script']}",
               "rejected": f"{c['autolink']} {c['bold']}", "note": f"{c['bold']} {c['link']}"}

    def latest(kind: str, subject: str) -> int:
        found = edits.latest(con, kind, subject)
        return found.version if found else 0

    edits.save(con, "goal", "2026-Q3", GoalBody(revenue=120_000), actor=people["goal"], reason=reasons["goal"],
               expected_version=latest("goal", "2026-Q3"), as_of=AS_OF, now=AS_OF)
    edits.save(con, "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(monthly_quality_commitment=12), actor=people["sla"],
               reason=reasons["sla"], expected_version=latest("sla_policy", edits.POLICY_SUBJECT),
               effective_from=edits.BEGINNING, now=AS_OF)
    definition = QualityDefinition(min_score=50, industries=[c["icon"], c["heading"]])
    quality = edits.save(con, "quality_definition", edits.POLICY_SUBJECT, definition, actor=people["quality"],
                         reason=reasons["quality"], expected_version=latest("quality_definition", edits.POLICY_SUBJECT),
                         effective_from=edits.BEGINNING, now=AS_OF)
    edits.propose(con, "quality_definition", edits.POLICY_SUBJECT,
                  QualityDefinition(min_score=60, industries=[c["autolink"]], exclude_countries=[c["link"]]),
                  actor=people["proposer"], reason=reasons["proposal"], base_version=quality.version,
                  effective_from=AS_OF, now=AS_OF)
    refused = edits.propose(con, "quality_definition", edits.POLICY_SUBJECT, QualityDefinition(min_score=90),
                            actor=people["sales"], reason=reasons["rejected"], base_version=quality.version,
                            effective_from=AS_OF, now=AS_OF)
    edits.reject(con, refused.proposal_id, actor=people["rejecter"], note=reasons["note"], now=AS_OF)

    header = f"lead_id,created_at,source,status,{c['link']},=HYPERLINK(\"http://evil.example\")"
    rows = [f"L90,2026-07-09 00:00,{c['bold']},open,x,y", f"=1+2,{c['script']},{c['code']},open,x,y"]
    file_name = f"{c['image']} {c['html']}.csv"
    summary = import_as(con, people["importer"], "accord",
                        [SourceFile(file_name, ("\n".join([header, *rows]) + "\n").encode())])
    with transaction(con, ("records",)) as cur:  # the import moves as-of to its latest record: keep the tiny world's
        set_meta(cur, "as_of", AS_OF.isoformat())
    con.close()
    return {"corpus": c, "people": people, "reasons": reasons, "file_name": file_name, "import": summary}


@pytest.fixture(scope="session")
def corpus_file(tiny_db_file, tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("corpus") / "corpus.duckdb"
    shutil.copy(tiny_db_file, path)
    return path, corpus_world(path)


@pytest.fixture
def world(corpus_file, tmp_path, use_db) -> dict:
    """A fresh copy of the corpus world, in use by the app."""
    source, facts = corpus_file
    path = tmp_path / "corpus.duckdb"
    shutil.copy(source, path)
    use_db(path)
    return {**facts, "path": path}


# --- reading what a page gave Streamlit ----------------------------------------------------------------------

MARKDOWN_FIELDS = {"body", "label", "help", "delta", "text"}
AS_TYPED = {"text", "code", "json"}  # st.text, st.code, st.json show their text as it is


def markdown_texts(at: AppTest) -> list[str]:
    """Every string a Markdown-rendering element of the page (main area, sidebar, toasts) was given: bodies,
    labels, help, metric deltas, progress texts, radio options and table column help."""
    found: list[str] = []

    def visit(node) -> None:
        kind = getattr(node, "type", None)
        proto = getattr(node, "proto", None)
        if proto is not None and kind not in AS_TYPED and hasattr(proto, "ListFields"):
            for field, value in proto.ListFields():
                if field.name in MARKDOWN_FIELDS and isinstance(value, str):
                    found.append(value)
                elif field.name == "options" and kind == "radio":
                    found.extend(value)
                elif field.name == "columns" and kind == "dataframe":
                    found.extend(spec["help"] for spec in json.loads(value).values() if spec.get("help"))
        for child in getattr(node, "children", {}).values():
            visit(child)

    visit(at.main)
    visit(at.sidebar)
    found.extend(t.value for t in at.toast)
    return found


def shown_as_typed(at: AppTest) -> str:
    """What the page shows as it is: st.text and every table cell and column name."""
    parts = [t.value for t in at.text]
    for frame in at.dataframe:
        parts += [str(c) for c in frame.value.columns]
        parts += [str(v) for v in frame.value.astype(str).to_numpy().ravel()]
    return "\n".join(parts)


def assert_no_raw_markup(at: AppTest) -> None:
    """No corpus value reached a Markdown element unescaped (the formula cells are not markup: they are the
    CSV's concern)."""
    texts = markdown_texts(at)
    leaks = [(value, text) for value in MARKUP.values() for text in texts if value in text]
    assert not leaks, leaks


def test_the_check_sees_a_value_rendered_as_markup():
    """The check can fail: a raw value in any Markdown element is found, an escaped one or st.text is not."""
    def page():
        import streamlit as st

        from ui.widgets import plain

        value = "![x](http://127.0.0.1:9/x.png)"
        st.text(value)
        st.caption(plain(value))
        st.radio("Pick", ["a", value])
        with st.expander(value):
            st.toast(value)

    at = AppTest.from_function(page).run()
    found = markdown_texts(at)
    assert found.count(MARKUP["image"]) == 3  # radio option, expander label, toast; not st.text
    assert plain_markdown(MARKUP["image"]) in found
    with pytest.raises(AssertionError):
        assert_no_raw_markup(at)


# --- every page on the corpus world ---------------------------------------------------------------------------

SLA_TABS = ("Sales by team and rep", "Weekly trend", "Marketing's side", "Breach list", "SLA policy")

# Corpus values each page shows as they are (st.text, tables), so the check above is not vacuous.
SHOWN = {
    "pages/goals.py": ("image", "link"),  # the goal's reason in the version line and the history
    "pages/pipeline.py": ("icon", "heading", "autolink"),  # industries in the segment tables
    "pages/attribution.py": ("script", "colour"),  # campaign names
    "pages/quality.py": ("icon", "heading", "script", "autolink"),  # definition, proposals, history
    "pages/import_data.py": ("image", "html", "script"),  # the import log's file name, the quarantine's reason
}


# The drill-downs (ui.widgets.drill_down) run only while open: opened, so their record lists are checked too.
OPEN_DRILL_DOWNS = {
    "pages/pipeline.py": {"pipeline_funnel_records": True, "pipeline_gap_records": True, "pipeline_deal_records": True},
    "pages/attribution.py": {"attribution_records": True},
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_the_corpus_as_plain_text(world, page):
    at = open_page(page, state=OPEN_DRILL_DOWNS.get(page))
    assert_no_raw_markup(at)
    shown = shown_as_typed(at)
    for name in SHOWN.get(page, ()):
        assert world["corpus"][name] in shown, name


@pytest.mark.parametrize("tab", SLA_TABS)
def test_every_sla_tab_shows_the_corpus_as_plain_text(world, tab):
    at = open_page("pages/sla.py", state={"sla_tab": tab})
    assert_no_raw_markup(at)
    if tab == "Sales by team and rep":
        shown = shown_as_typed(at)
        assert world["corpus"]["image"] in shown and world["corpus"]["bold"] in shown  # a rep and a team
    if tab == "SLA policy":
        assert world["reasons"]["sla"] in shown_as_typed(at)  # the history's reason


# --- messages that quote names, reasons and values ------------------------------------------------------------

def test_a_save_by_someone_named_with_markup_is_announced_as_plain_text(world):
    name = world["corpus"]["bold"] + " " + world["corpus"]["image"]
    at = act_as(open_page("pages/goals.py"), Actor(name=name, team="leadership"))
    at.number_input(key="goals_form_revenue").set_value(150_000)
    at.text_input(key="goals_form_reason").input(world["corpus"]["link"])
    click(at, "Save goal")
    assert not at.exception, [e.value for e in at.exception]
    expected = f"Saved version 3 ({plain_markdown(name)})."
    assert [s.value for s in at.success] == [expected]
    assert [t.value for t in at.toast] == [expected]
    assert_no_raw_markup(at)


def test_a_conflict_quotes_their_name_and_reason_as_plain_text(world):
    at = open_page("pages/goals.py")
    con = open_store(world["path"])
    them = Actor(name=world["corpus"]["html"], team="marketing")
    edits.save(con, "goal", "2026-Q3", GoalBody(revenue=90_000), actor=them, reason=world["corpus"]["colour"],
               expected_version=2, as_of=AS_OF)
    con.close()
    at.number_input(key="goals_form_revenue").set_value(150_000)
    at.text_input(key="goals_form_reason").input("mine")
    click(at, "Save goal")
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.value.startswith(f"Not saved: {plain_markdown(them.name)} saved version 3 at") for e in at.error)
    assert f"Their reason: {plain_markdown(world['corpus']['colour'])}" in [c.value for c in at.caption]
    assert_no_raw_markup(at)


@pytest.mark.parametrize(("page", "state", "element"), [
    ("pages/goals.py", {}, "info"),
    ("pages/sla.py", {"sla_tab": "SLA policy"}, "info"),
    ("pages/quality.py", {}, "info"),
])
def test_read_only_notes_name_the_person_as_plain_text(world, page, state, element):
    name = world["corpus"]["link"]
    at = act_as(open_page(page, state=state), Actor(name=name, team="viewer"))
    assert not at.exception, [e.value for e in at.exception]
    assert any(plain_markdown(name) in e.value for e in getattr(at, element))
    assert_no_raw_markup(at)


def test_a_draft_quoting_unknown_values_is_refused_in_plain_text(world):
    at = open_page("pages/quality.py")
    at.multiselect(key="quality_form_industries").set_value([world["corpus"]["link"]]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        f"Industries: no lead has industry '{plain_markdown(world['corpus']['link'])}'. Pick values present in the data."]
    assert_no_raw_markup(at)


def test_an_import_summary_quoting_file_names_is_plain_text(world):
    summary = world["import"]
    at = open_page("pages/import_data.py", state={"import_flash": summary})
    assert [s.value for s in at.success] == [plain_markdown(summary.headline)]
    assert f"• {world['file_name']}: 1 row(s) quarantined; see the quarantine list for line and reason." in [
        t.value for t in at.text]
    assert_no_raw_markup(at)


def test_every_table_of_records_has_a_formula_safe_download(world):
    """The tables' own CSV export is off (.streamlit/config.toml); the app's downloads neutralise formulas."""
    config = (Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text()
    assert re.search(r"(?m)^\[client\][^\[]*^disableDataExport = true$", config)
    expected = {
        "pages/import_data.py": {"Download the import log (CSV)", "Download the quarantine (CSV)"},
        "pages/quality.py": {"Download the history (CSV)", "Download the decided proposals (CSV)"},
        "pages/goals.py": {"Download the history (CSV)"},
    }
    for page, labels in expected.items():
        at = open_page(page)
        assert labels <= {d.label for d in at.get("download_button")}, page
    at = open_page("pages/sla.py", state={"sla_tab": "Sales by team and rep"})
    assert [d.label for d in at.get("download_button")] == ["Download by rep (CSV)"]
