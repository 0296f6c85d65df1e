"""Team and rep targets: the period's sales targets split between teams and reps (by the trailing year unless a
sales manager fixed a share), progress and pace per rep, and the leaderboard a sales manager shows."""
from __future__ import annotations

import streamlit as st

from core import edits
from core.metrics.targets import KIND, TABLE_LABELS, active, rep_targets, with_share
from core.models import RepTargets
from ui import data, sidebar, widgets

KEY = "targets"
scope = sidebar.scope()
period, quarter = scope.period, scope.period.quarter()
t = rep_targets(None, period, scope.as_of, call=data.cached)

st.title(f"Team and rep targets · {period.label}")
widgets.period_caption(scope, "deals count for their owner")
widgets.announce(KEY)
st.caption("Each team's share of the goal and of the cascade's deal targets is its share of the trailing year; "
           "each rep's share of the team's is theirs within it — unless a sales manager fixed it below.")
board = t.leaderboard()
st.subheader("Leaderboard")
if board.empty:
    st.info("No rep has a target or a deal in this period.")
else:
    shown, columns = t.table(board, ("rank", "name", "team"))
    widgets.measure_table(shown, columns, key=f"{KEY}_board", labels=TABLE_LABELS)
    widgets.csv_download(shown[columns], f"leaderboard-{period.label}.csv", "Download the leaderboard (CSV)",
                         key=f"{KEY}_csv")
st.subheader("By team")
if not active(t.teams).empty:
    teams, columns = t.table(active(t.teams), ("team",))
    widgets.measure_table(teams, columns, key=f"{KEY}_teams", labels=TABLE_LABELS)
widgets.notes(t.notes)

# --- Fix a share: through the write path, with a reason; the others keep their trailing-year proportions ------
st.subheader(f"Fix a share for {quarter.label}")
current = data.cached(edits.latest, KIND, quarter.label)
opened = widgets.opened_version(KEY, current)
body = current.body if current else RepTargets()
widgets.show_flash_and_conflict(KEY)
refusal = edits.refusal(scope.actor, KIND)
if refusal:
    st.info(widgets.plain(refusal))
fixed = [f"team {k}: {v:.0%} of the whole" for k, v in body.team_shares.items()] + \
        [f"rep {k}: {v:.0%} of the team" for k, v in body.rep_shares.items()]
st.caption("Fixed now: " + ("; ".join(fixed) if fixed else "nothing — every share follows the trailing year."))
names = dict(zip(t.reps["rep_id"], t.reps["name"] + " (" + t.reps["team"] + ")")) if not t.reps.empty else {}
team_names = sorted(set(t.reps["team"])) if not t.reps.empty else []
with st.form(f"{KEY}_form"):
    c1, c2, c3 = st.columns([1, 2, 1])
    who = c1.radio("Fix the share of", ["team", "rep"], horizontal=True, key=f"{KEY}_who")
    team_pick = c2.selectbox("Team (a share of the whole)", team_names, key=f"{KEY}_team")
    rep_pick = c2.selectbox("Rep (a share of their team)", list(names), format_func=names.get, key=f"{KEY}_rep")
    share = c3.number_input("Share (%) — empty: back to the trailing year", min_value=0.0, max_value=100.0,
                            value=None, step=1.0, key=f"{KEY}_share")
    reason = st.text_input("Why (kept in the history)", key=f"{KEY}_reason",
                           placeholder="e.g. Bea takes over the west coast accounts")
    submitted = st.form_submit_button("Save the split", disabled=refusal is not None)
if submitted:
    target = team_pick if who == "team" else rep_pick
    if target is None:
        st.error("Choose a team or a rep.")
    else:
        new = with_share(body, who, target, share)
        saved = widgets.submit_edit(KEY, KIND, quarter.label, new, actor=scope.actor, reason=reason, as_of=scope.as_of)
        if saved is not None:
            st.rerun()
history = data.cached(edits.history, KIND, quarter.label)
if history:
    widgets.version_history(KEY, history)
