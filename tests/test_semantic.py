"""The semantic layer holds: every figure declared once with a unique label, every enumeration agreeing with
the schema, every dimension computable at both grains, and the architecture's boundaries (core is pure,
pages draw cards only through the declared measures)."""
from __future__ import annotations

import ast
import importlib
import re
from collections import Counter
from pathlib import Path

import pytest

from core.semantic import enums
from core.semantic.blocks import run, scope_params
from core.semantic.dimensions import DEAL_JOINS, DIMENSIONS, LEAD_JOINS, dimension
from core.semantic.measures import BASES, FORMATS, MEASURES

ROOT = Path(__file__).resolve().parents[1]


def test_no_label_is_used_for_two_figures():
    labels = Counter(m.label for m in MEASURES.values())
    assert [label for label, n in labels.items() if n > 1] == []
    cards = Counter(m.card_label for m in MEASURES.values())
    assert [label for label, n in cards.items() if n > 1] == []


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_every_measure_is_fully_declared(name):
    m = MEASURES[name]
    assert m.name == name
    assert m.fmt in FORMATS and m.basis in BASES
    assert m.help.endswith(".") and len(m.help) > 20
    module, _, attr = m.computed_by.rpartition(".")
    assert hasattr(importlib.import_module(module), attr), f"{name}: {m.computed_by} does not exist"


def test_a_card_names_its_basis_when_it_is_not_the_selected_period():
    assert MEASURES["win_rate"].card_label == "Win rate · trailing 365 days"
    assert MEASURES["stalled_deals"].card_label == "Stalled deals · open as of"
    assert MEASURES["won_revenue"].card_label == "Won revenue"
    # the cohort funnel and the deals of the period never read alike
    assert MEASURES["won"].label != MEASURES["period_won_deals"].label
    assert MEASURES["opportunities"].label != MEASURES["created_deals"].label


def _check_list(sql: str, table: str, column: str) -> tuple[str, ...]:
    body = sql.split(f"CREATE TABLE IF NOT EXISTS {table} (")[1].split(");")[0]
    line = next(ln for ln in body.splitlines() if ln.strip().startswith(column + " "))
    return tuple(re.findall(r"'([a-z_]+)'", line.split(" IN (", 1)[1]))


def test_schema_constraints_list_the_declared_enumerations():
    sql = (ROOT / "core" / "schema.sql").read_text()
    assert _check_list(sql, "deals", "stage") == enums.DEAL_STAGES
    assert _check_list(sql, "deal_stage_history", "stage") == enums.DEAL_STAGES
    assert _check_list(sql, "leads", "status") == enums.LEAD_STATUSES
    assert _check_list(sql, "leads", "seniority") == enums.SENIORITIES
    assert _check_list(sql, "activities", "kind") == enums.ACTIVITY_KINDS
    assert _check_list(sql, "edit_versions", "kind") == enums.EDIT_KINDS
    assert _check_list(sql, "proposals", "status") == enums.PROPOSAL_STATUSES
    tables = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", sql)
    assert [t for t in tables if t in enums.TABLES] == list(enums.TABLES)


@pytest.mark.parametrize("name", sorted(DIMENSIONS))
def test_every_dimension_is_computable_at_both_grains_and_never_null(name, tiny):
    from conftest import AS_OF
    from core.periods import parse_period

    dim = dimension(name)
    params = scope_params(parse_period("2026-Q3"), AS_OF)
    leads = run(tiny, f"SELECT {dim.lead_sql()} AS v, count(*) FROM leads l {LEAD_JOINS} GROUP BY 1", params).fetchall()
    deals = run(tiny, f"SELECT {dim.deal_sql()} AS v, count(*) FROM deals d {DEAL_JOINS} GROUP BY 1", params).fetchall()
    assert sum(n for _, n in leads) == tiny.execute("SELECT count(*) FROM leads").fetchone()[0]
    assert sum(n for _, n in deals) == tiny.execute("SELECT count(*) FROM deals").fetchone()[0]
    assert all(v is not None for v, _ in leads + deals)


def test_dimension_values_for_missing_and_sourced_records(tiny):
    from conftest import AS_OF
    from core.periods import parse_period

    params = scope_params(parse_period("2026-Q3"), AS_OF)
    team = dict(run(tiny, f"SELECT l.lead_id, {DIMENSIONS['team'].lead_sql()} FROM leads l {LEAD_JOINS}", params).fetchall())
    assert team["L1"] == "sdr-emea" and team["L6"] == enums.UNASSIGNED  # L6 has no owner
    source = dict(run(tiny, f"SELECT d.deal_id, {DIMENSIONS['source'].deal_sql()} FROM deals d {DEAL_JOINS}", params).fetchall())
    assert enums.SALES_SOURCED in source.values()
    campaign = dict(run(tiny, f"SELECT l.lead_id, {DIMENSIONS['campaign'].lead_sql()} FROM leads l {LEAD_JOINS}", params).fetchall())
    assert campaign["L1"] == "July webinar" and campaign["L6"] == enums.NO_CAMPAIGN


def test_an_undeclared_dimension_is_refused():
    with pytest.raises(ValueError):
        dimension("1; DROP TABLE leads")
    with pytest.raises(ValueError):
        dimension("rep", allowed=("source", "team"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_nothing_under_core_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == []


def test_pages_draw_figures_only_through_declared_measures():
    """A page never writes its own metric card (label, format, tooltip): ui.widgets.measure does."""
    offenders = []
    for page in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(page.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "metric":
                offenders.append(f"{page.name}:{node.lineno}")
    assert offenders == []


def test_a_money_column_has_one_style():
    from core.semantic.measures import money_column

    assert money_column([7_500, 37_000, None]) == ["$7.5k", "$37.0k", "—"]
    assert money_column([37_000, 120_000]) == ["$37k", "$120k"]
    assert money_column([1_250_000, 37_000]) == ["$1.25M", "$0.04M"]
    assert money_column([500, 7_500]) == ["$500", "$7,500"]


def test_chart_tooltips_write_missing_figures_as_a_dash_not_null():
    import json

    import pandas as pd

    from core.charts_sla import delivery_chart

    months = pd.DataFrame({"month": ["2026-08", "2026-09"], "month_start": pd.to_datetime(["2026-08-01", "2026-09-01"]),
                           "quality_leads": [631, 0], "committed": [600, None], "delivery": [631 / 600, None],
                           "elapsed_share": [1.0, 0.0]})
    spec = json.dumps(delivery_chart(months).to_dict())
    values = next(d for d in json.loads(spec)["datasets"].values())
    assert [(v["quality_leads_text"], v["committed_text"], v["delivery_text"]) for v in values] == [
        ("631", "600", "105.2%"), ("0", "—", "—")]
