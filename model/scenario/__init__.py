"""Scenario files (hipsem/scenario-1), the runner, the checker and the report."""
