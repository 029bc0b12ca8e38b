-- Make the partition of one UTC day of app_events (moving its rows out of DEFAULT); true if new.
SELECT create_event_partition(%(day)s::date)
