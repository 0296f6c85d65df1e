"""The meeting digest (issue 14, item 5): one page on a period — goal and landing estimate, pacing, both sides of
the SLA, the biggest gaps, stalled deals and deals at risk, what changed in the last week, and the goal, SLA and
definition changes made — as a self-contained HTML file, and as PDF or PNG with the charts drawn offline
(vl-convert renders Vega-Lite without a browser or a network).

Every figure is the report's (core.report.report_dict of the same headline), so the digest, the Overview and
`python -m core report` never disagree. Everything from the data or from people (names, reasons, segment
values) is escaped in HTML and drawn as plain text marks in PDF/PNG: nothing is interpreted.
"""
from __future__ import annotations

import html
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from core import edits
from core.db import reads
from core.errors import AccordError
from core.metrics.changes import Changes, changes
from core.metrics.gaps import stage_gaps
from core.metrics.goals import goal_plan, stage_rows
from core.metrics.pipeline import deal_records
from core.metrics.sla import sla_headline
from core.periods import Period
from core.report import Headline, forecast_sentence, headline, headline_notes, report_dict
from core.semantic.blocks import one_row, section_caller
from core.semantic.enums import DEAL_STAGE_LABELS
from core.semantic.measures import MEASURES, fmt

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd
else:  # pandas on first use (core.lazy); altair only when charts are drawn
    from core.lazy import pandas as pd

FORMATS = ("html", "pdf", "png")
CHANGES_DAYS = 7  # "what changed" covers the week up to as-of (within the period)
TOP = 5
NO_EDITS = "No goal, SLA policy or definition change was saved in the period."
PAGE_WIDTH = 760  # pixels of the PDF/PNG page's text column
WRAP = 120  # characters per line of text at 12 px in it

# The report's figures the digest shows, section by section: (section, field, measure that labels it).
LINES: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    ("Goal and landing", (("goal", "revenue", "goal"), ("goal", "won_revenue", "won_revenue"),
                          ("goal", "attainment", "attainment"), ("forecast", "landing", "landing"),
                          ("forecast", "low", "landing_low"), ("forecast", "high", "landing_high"))),
    ("Marketing's side: quality leads", (("delivery", "quality_leads", "quality_leads"),
                                         ("delivery", "committed", "committed"),
                                         ("delivery", "delivery", "delivery"))),
    ("Sales' side: speed to lead", (("sla", "compliance", "compliance"),
                                    ("sla", "median_hours_to_first_touch", "median_hours"),
                                    ("sla", "breached", "sla_breached"))),
    ("Pipeline", (("pipeline", "open_amount", "open_amount"), ("pipeline", "coverage", "coverage"),
                  ("pipeline", "win_rate", "win_rate"), ("pipeline", "stalled_deals", "stalled_deals"))),
)


@dataclass
class Digest:
    period: Period
    as_of: datetime
    report: dict
    sections: list[tuple[str, list[tuple[str, object]]]] = field(default_factory=list)  # (title, [(measure, value)])
    sentences: list[str] = field(default_factory=list)
    gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    stalled: pd.DataFrame = field(default_factory=pd.DataFrame)
    stalled_total: int = 0
    at_risk: pd.DataFrame = field(default_factory=pd.DataFrame)
    at_risk_total: int = 0
    changed: Changes | None = None
    edits_made: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    charts: list[tuple[str, Any]] = field(default_factory=list)  # (title, Altair chart)


def shown(sections: list[tuple[str, list[tuple[str, object]]]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The sections as (label, value as written): labels and formats are the measures' own."""
    return [(title, [(MEASURES[m].label, fmt(v, MEASURES[m].fmt)) for m, v in lines]) for title, lines in sections]


def _edits_in(call: Callable[..., Any], period: Period) -> list[str]:
    """Every version of the period's goal (whenever it was saved: a goal set before the quarter shaped it), and
    the SLA policy and quality-definition versions saved during the period, oldest first."""
    found = []
    for kind, subject, words in (("goal", period.quarter().label, f"Goal for {period.quarter().label}"),
                                 ("sla_policy", edits.POLICY_SUBJECT, "SLA policy"),
                                 ("quality_definition", edits.POLICY_SUBJECT, "Quality-lead definition")):
        for v in call(edits.history, kind, subject):
            if kind == "goal" or period.start <= v.saved_at < period.end:
                found.append((v.saved_at, f"{v.saved_at:%d %b %Y}: {words}, version {v.version}, saved by "
                                          f"{v.saved_by} — {v.reason}"))
    return [text for _, text in sorted(found)]


@reads('records')
def period_is_empty(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> str | None:
    """Why there is nothing to digest (no lead or deal created, no deal closed, none open expected in the
    period, up to as-of), or None."""
    if period.start > as_of:
        return f"{period.label} starts after the data's as-of moment ({as_of:%Y-%m-%d %H:%M} UTC): nothing has happened in it yet."
    row = one_row(con.execute("""SELECT
        EXISTS (SELECT 1 FROM counted_leads WHERE created_at >= $start AND created_at < $end AND created_at <= $as_of),
        EXISTS (SELECT 1 FROM counted_deals WHERE (created_at >= $start AND created_at < $end AND created_at <= $as_of)
                   OR (closed_at >= $start AND closed_at < $end AND closed_at <= $as_of)
                   OR (expected_close_on >= CAST($start AS DATE) AND expected_close_on < CAST($end AS DATE)
                       AND created_at <= $as_of))""", {"start": period.start, "end": period.end, "as_of": as_of}))
    if any(row):
        return None
    return (f"Nothing to digest for {period.label}: no lead or deal was created in it, no deal closed in it and none "
            "is expected to close in it (as of the data). Choose a period that holds data.")


def build_digest(con: duckdb.DuckDBPyConnection | None, period: Period, as_of: datetime, stall_days: int = 30,
                 with_charts: bool = True, call: Callable[..., Any] | None = None) -> Digest:
    """The digest of `period`. `call(fn, *args)` computes each part (default fn(con, *args)); the page passes its
    cache (ui.data.cached) with the arguments the other pages use, so a digest opened after the Overview,
    Pipeline or What changed reuses their figures instead of computing them again."""
    call = section_caller(con, call, "build_digest")

    h: Headline = headline(None, period, as_of, stall_days, call=call, with_forecast=True)
    d = Digest(period=period, as_of=as_of, report=report_dict(h, period, as_of))
    for title, lines in LINES:
        d.sections.append((title, [(m, d.report[section][name]) for section, name, m in lines]))
    sentence = forecast_sentence(h)
    if sentence:
        d.sentences.append(sentence)
    frame = stage_gaps(None, period, as_of, None, call=call).frame
    if len(frame) and "revenue_at_stake" in frame:
        d.gaps = frame.sort_values("revenue_at_stake", ascending=False, na_position="last").head(3)
    stalled = call(deal_records, period, as_of, "stalled", None, None, stall_days)
    d.stalled, d.stalled_total = _labelled(stalled.frame.head(TOP)), stalled.total
    risky = call(deal_records, period, as_of, "at_risk", None, None, stall_days)
    d.at_risk, d.at_risk_total = _labelled(risky.frame.head(TOP)), risky.total
    since = max(period.start, as_of - timedelta(days=CHANGES_DAYS))
    if since < as_of:
        d.changed = call(changes, since, as_of, "source")
        d.sentences.extend(d.changed.sentences)
    d.edits_made = _edits_in(call, period)
    d.notes = headline_notes(h)
    if with_charts:
        d.charts = _charts(call, h, period, as_of)
    return d


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    if "stage" in frame:
        frame["stage"] = frame["stage"].map(DEAL_STAGE_LABELS).fillna(frame["stage"])
    if "account" in frame:
        frame["account"] = frame["account"].fillna("—")  # shown in the page's tables: a dash, never "None"
    return frame


def _charts(call: Callable[..., Any], h: Headline, period: Period, as_of: datetime) -> list[tuple[str, Any]]:
    from core.charts import funnel_chart, funnel_frame
    from core.charts_goals import progress_chart
    from core.charts_sla import weekly_trend_chart

    out: list[tuple[str, Any]] = []
    plan = goal_plan(None, period, as_of, call=call)
    progress = progress_chart(stage_rows(plan, None), plan.elapsed_share)
    if progress is not None:
        out.append(("Target vs actual to date", progress))
    if h.funnel.leads:
        out.append(("The period's funnel", funnel_chart(funnel_frame(h.funnel))))
    weekly = call(sla_headline, period, as_of).by["week"]  # the SLA page's one query, shared
    if len(weekly):
        out.append(("Speed to lead, week by week", weekly_trend_chart(weekly)))
    return out


# --- Rendering ----------------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:960px;margin:2em auto;
color:#1f2430;padding:0 1em}h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;
border-bottom:1px solid #dde;padding-bottom:.2em}.cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid
#dde;border-radius:6px;padding:.5em .8em;min-width:10em}.card b{display:block;font-size:1.25em}.muted{color:#667}
table{border-collapse:collapse;width:100%;font-size:.92em}td,th{border-bottom:1px solid #eee;padding:.3em;text-align:left}
td.n{text-align:right}figure{margin:1em 0}@media print{body{margin:0}}"""


def _e(value: object) -> str:
    return html.escape("—" if value is None else str(value))


def _table(frame: pd.DataFrame, columns: dict[str, str], money: tuple[str, ...] = ()) -> str:
    if frame is None or frame.empty:
        return "<p class='muted'>Nothing to list.</p>"
    head = "".join(f"<th>{_e(label)}</th>" for label in columns.values())
    rows = []
    for rec in frame.to_dict("records"):
        cells = []
        for col in columns:
            value = rec.get(col)
            text = fmt(value, "money") if col in money else ("—" if value is None or value != value else value)
            cells.append(f"<td{' class=n' if col in money else ''}>{_e(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


DEAL_COLUMNS = {"deal_id": "Deal", "account": "Account", "stage": "Stage", "amount": "Amount"}
GAP_COLUMNS = {"label": "Stage", "gap_to_date": "Gap to date", "revenue_at_stake": "Revenue at stake"}


def _chart_svg(chart: Any) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())


def to_html(d: Digest) -> str:
    """A self-contained page: no script, no link, no font or image fetched (a Content-Security-Policy forbids
    it), the charts inline as SVG."""
    parts = [f"<h1>Accord digest · {_e(d.period.label)}</h1>",
             f"<p class='muted'>{d.period.start:%d %b %Y} – {d.period.end:%d %b %Y} · as of "
             f"{d.as_of:%Y-%m-%d %H:%M} UTC</p>"]
    for title, lines in shown(d.sections):
        cards = "".join(f"<div class='card'><span class='muted'>{_e(label)}</span><b>{_e(value)}</b></div>"
                        for label, value in lines)
        parts.append(f"<h2>{_e(title)}</h2><div class='cards'>{cards}</div>")
    if d.sentences:
        parts.append("<h2>In words</h2>" + "".join(f"<p>{_e(s)}</p>" for s in d.sentences))
    for title, chart in d.charts:
        parts.append(f"<figure><figcaption><b>{_e(title)}</b></figcaption>{_chart_svg(chart)}</figure>")
    parts.append("<h2>Biggest gaps</h2>" + _table(d.gaps, GAP_COLUMNS, money=("revenue_at_stake",)))
    parts.append(f"<h2>Stalled deals ({d.stalled_total:,})</h2>" + _table(d.stalled, DEAL_COLUMNS, money=("amount",)))
    parts.append(f"<h2>Deals at risk ({d.at_risk_total:,})</h2>"
                 "<p class='muted'>Open, expected to close in the period, and stalled.</p>"
                 + _table(d.at_risk, DEAL_COLUMNS, money=("amount",)))
    parts.append("<h2>Goal, SLA and definition changes in the period</h2>"
                 + ("".join(f"<p>{_e(line)}</p>" for line in d.edits_made) or f"<p class='muted'>{NO_EDITS}</p>"))
    if d.notes:
        parts.append("<h2>Figures that cannot be computed</h2>" + "".join(f"<p>{_e(n)}</p>" for n in d.notes))
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{policy}\">"
            f"<title>Accord digest · {_e(d.period.label)}</title><style>{_CSS}</style></head><body>"
            + "".join(parts) + "</body></html>")


def _text_block(lines: list[str], bold: bool = False, size: int = 12) -> alt.Chart:
    import altair as alt

    wrapped = [part for line in lines for part in (textwrap.wrap(line, WRAP) or [""])]  # long sentences wrap
    frame = pd.DataFrame({"row": range(len(wrapped)), "line": wrapped})
    # x pinned to the left edge: a text mark without an x sits in the middle of its width
    return alt.Chart(frame).mark_text(align="left", baseline="top", fontSize=size,
                                      fontWeight="bold" if bold else "normal").encode(
        x=alt.value(0), y=alt.Y("row:O", axis=None), text="line:N").properties(
        width=PAGE_WIDTH, height=(size + 6) * max(len(wrapped), 1))


def _deal_lines(frame: pd.DataFrame) -> list[str]:
    if frame is None or frame.empty:
        return ["Nothing to list."]
    return [f"{r.get('deal_id')} · {r.get('account') or '—'} · {r.get('stage')} · {fmt(r.get('amount'), 'money')}"
            for r in frame.to_dict("records")]


def to_spec(d: Digest) -> dict:
    """The digest as one Vega-Lite document (text marks and the charts stacked), for vl-convert's PDF and PNG."""
    import altair as alt

    blocks: list[Any] = [_text_block([f"Accord digest · {d.period.label}"], bold=True, size=20),
                         _text_block([f"{d.period.start:%d %b %Y} – {d.period.end:%d %b %Y} · as of "
                                      f"{d.as_of:%Y-%m-%d %H:%M} UTC"])]
    for title, lines in shown(d.sections):
        blocks += [_text_block([title], bold=True, size=14), _text_block([f"{label}: {value}" for label, value in lines])]
    if d.sentences:
        blocks += [_text_block(["In words"], bold=True, size=14), _text_block(d.sentences)]
    for title, chart in d.charts:
        blocks += [_text_block([title], bold=True, size=14), chart]
    gap_lines = [f"{r.get('label')}: gap {fmt(r.get('gap_to_date'), 'count')}, revenue at stake "
                 f"{fmt(r.get('revenue_at_stake'), 'money')}" for r in d.gaps.to_dict("records")] or ["No stage has a target to be short of."]
    blocks += [_text_block(["Biggest gaps"], bold=True, size=14), _text_block(gap_lines),
               _text_block([f"Stalled deals ({d.stalled_total:,})"], bold=True, size=14), _text_block(_deal_lines(d.stalled)),
               _text_block([f"Deals at risk ({d.at_risk_total:,})"], bold=True, size=14), _text_block(_deal_lines(d.at_risk)),
               _text_block(["Goal, SLA and definition changes in the period"], bold=True, size=14),
               _text_block(d.edits_made or [NO_EDITS])]
    if d.notes:
        blocks += [_text_block(["Figures that cannot be computed"], bold=True, size=14), _text_block(d.notes)]
    # each chart keeps its own colours and legend (the goal's teams, the SLA's statuses)
    return (alt.vconcat(*blocks, spacing=6).resolve_scale(color="independent").resolve_legend(color="independent")
            .configure_view(stroke=None).to_dict())


def render(d: Digest, fmt_name: str) -> bytes:
    if fmt_name == "html":
        return to_html(d).encode("utf-8")
    import json

    import vl_convert as vlc

    spec = json.dumps(to_spec(d))
    if fmt_name == "pdf":
        return vlc.vegalite_to_pdf(spec)
    if fmt_name == "png":
        return vlc.vegalite_to_png(spec, scale=1.5)
    raise AccordError(f"Unknown digest format {fmt_name!r}: choose html, pdf or png.")


def format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise AccordError(f"{path.name}: the digest is written as .html, .pdf or .png (from the file's suffix).")
    return suffix
