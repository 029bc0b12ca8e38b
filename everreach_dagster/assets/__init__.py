"""Asset groups, one module per domain."""
