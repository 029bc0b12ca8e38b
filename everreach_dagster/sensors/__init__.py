"""Sensors of the code location, one module per concern."""
