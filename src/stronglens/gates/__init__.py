"""Shortcut gates: the model-free data gates, the model gates of a trained run, their metrics (AUROC with DeLong
intervals, low-FPR, calibration), the single threshold table and verdict, a run's gate report, and the
experiments table that puts every run's gates side by side. Its `settings` module holds the gate, data-gate and
threshold settings."""
