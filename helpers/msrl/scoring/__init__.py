"""Scoring programs: ChartMimic metrics and evaluation, RL rewards, judges."""
