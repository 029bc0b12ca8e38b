"""Sensors: alerts and failed runs (`alerts`)."""
