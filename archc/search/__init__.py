"""Searching a knob space under budgets (Optuna), on one machine or a Ray cluster."""
