-- Dagster's runs, event logs and schedules live in a database beside the application's
-- (EVERREACH_DAGSTER_DATABASE, default `dagster`); the Postgres image runs this on first start.
CREATE DATABASE dagster;
