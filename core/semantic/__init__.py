"""The semantic layer: every figure (measures), breakdown (dimensions) and enumeration declared once, and
the shared SQL blocks figures are built from. Pages, the report, CSV headers and tests read through it."""
