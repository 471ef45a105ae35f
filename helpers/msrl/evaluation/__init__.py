"""Evaluating models: generate for item sets, score, image control, seed tables and statistics."""
