"""The Dagster edge: SQL models, dataset partitions, label metrics, retention, schedules."""
