"""Accord core: records, metrics, edits and importers. Nothing here imports streamlit except core.cache."""
