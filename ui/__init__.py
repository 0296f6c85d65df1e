"""The Streamlit side of Accord: the only code besides pages/ and app.py that imports streamlit.

- ui.data     the process's one DuckDB connection and cached calls of core functions, keyed on the
              versions of the data domains each function reads (core.db.reads);
- ui.sidebar  the shared sidebar and the Scope (period, as-of, persona) every page computes for;
- ui.widgets  metric cards, tables, notes, safe CSV downloads, and the editor pieces (conflict view,
              version history).
"""
