"""Metric functions: pure functions of (connection, parameters), one module per area of METRICS.md."""
