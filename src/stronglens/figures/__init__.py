"""Figures (PNG + PDF) and HTML tables for the report: run panels, galleries, selection-function plots and run
comparisons; the headless matplotlib style they share. Its `settings` module holds the `figures` block."""
