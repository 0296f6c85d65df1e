"""Accord core: records, semantic layer, metrics, edits and importers. Nothing here imports streamlit:
core runs the same under a page (through ui/), the CLI, a test and a script."""
