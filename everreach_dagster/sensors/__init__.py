"""Sensors, one module per concern: alerts and failed runs (`alerts`), late data and erasure
rebuilds (`freshness`)."""
